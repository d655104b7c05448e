using Microsoft.Extensions.Logging;

namespace Switchboard.Endpoints;

/// <summary>Endpoint log events. Event ids are stable: operators filter and alert on them.</summary>
internal static partial class Log
{
    // Debug: during an outage every command of every client fails, and the broker's own log already
    // reports the outage once; this ties the detail to the connection that was answered.
    [LoggerMessage(7001, LogLevel.Debug, "Connection {ConnectionId}: the broker could not carry out {Op}; answered unavailable")]
    public static partial void CommandUnavailable(ILogger logger, long connectionId, string op, Exception exception);

    // Warning: API callers are a few backends, and a failed API call is worth an operator's attention.
    [LoggerMessage(7002, LogLevel.Warning, "HTTP API {Method} {Path}: the broker could not carry out the request; answered 503")]
    public static partial void ApiUnavailable(ILogger logger, string method, string path, Exception exception);
}
