using Microsoft.Extensions.Logging;

namespace Switchboard.Redis;

/// <summary>Log events of the relay of stream commands between nodes (<see cref="RedisSessionRelay"/>).</summary>
internal static partial class Log
{
    [LoggerMessage(5030, LogLevel.Debug, "Could not forward a stream's commands to node {Node} ({Reason}); the POST is answered 503")]
    public static partial void RelayFailed(ILogger logger, string node, string reason);

    [LoggerMessage(5031, LogLevel.Debug, "Node {Node} did not answer a forwarded POST of stream commands in time; the POST is answered 504")]
    public static partial void RelayNoAnswer(ILogger logger, string node);
}
