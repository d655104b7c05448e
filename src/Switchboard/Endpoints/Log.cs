using Microsoft.Extensions.Logging;

namespace Switchboard.Endpoints;

/// <summary>Endpoint log events. Event ids are stable: operators filter and alert on them.</summary>
internal static partial class Log
{
    // Warning, not Error: the broker's own log says why it is down; this says what it cost a client.
    [LoggerMessage(7001, LogLevel.Warning, "Connection {ConnectionId}: the broker could not carry out {Op}; answered unavailable")]
    public static partial void CommandUnavailable(ILogger logger, long connectionId, string op, Exception exception);

    [LoggerMessage(7002, LogLevel.Warning, "HTTP API {Method} {Path}: the broker could not carry out the request; answered 503")]
    public static partial void ApiUnavailable(ILogger logger, string method, string path, Exception exception);
}
