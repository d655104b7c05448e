using Microsoft.Extensions.Logging;

namespace Switchboard.Connections;

/// <summary>Connection log events. Event ids are stable: operators filter and alert on them.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Debug, "Connection {ConnectionId} of user {User} opened on {Path}")]
    public static partial void Opened(ILogger logger, long connectionId, string user, string path);

    [LoggerMessage(1002, LogLevel.Debug, "Connection {ConnectionId} closed: {How}")]
    public static partial void Closed(ILogger logger, long connectionId, string how);

    [LoggerMessage(1003, LogLevel.Warning, "Connection {ConnectionId} of user {User} is a slow consumer ({Messages} messages, {Bytes} bytes queued); closing it with 4000")]
    public static partial void SlowConsumer(ILogger logger, long connectionId, string user, int messages, long bytes);

    [LoggerMessage(1004, LogLevel.Debug, "Connection {ConnectionId} send loop stopped: {Reason}")]
    public static partial void SendFailed(ILogger logger, long connectionId, string reason);

    [LoggerMessage(1005, LogLevel.Debug, "Connection {ConnectionId} receive loop stopped: {Reason}")]
    public static partial void ReceiveFailed(ILogger logger, long connectionId, string reason);

    [LoggerMessage(1006, LogLevel.Error, "Connection {ConnectionId} failed unexpectedly; closing it with 1011")]
    public static partial void Unexpected(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(1007, LogLevel.Information, "Draining {Count} connections for shutdown (up to {Seconds} s)")]
    public static partial void Draining(ILogger logger, int count, double seconds);

    [LoggerMessage(1008, LogLevel.Warning, "Drain time over: aborting {Count} connections that did not close")]
    public static partial void DrainAborted(ILogger logger, int count);

    // Debug, not Information: anyone can send any Origin, and refusals must not let them fill the logs.
    [LoggerMessage(1009, LogLevel.Debug, "Upgrade refused: origin {Origin} is not allowed")]
    public static partial void OriginRefused(ILogger logger, string origin);

    [LoggerMessage(1010, LogLevel.Debug, "Connection refused after the upgrade with {Code}: {Reason}")]
    public static partial void Refused(ILogger logger, int code, string reason);

    [LoggerMessage(1011, LogLevel.Debug, "Connection {ConnectionId} closed by its deadline with {Code}: {Reason}")]
    public static partial void DeadlinePassed(ILogger logger, long connectionId, int code, string reason);

    [LoggerMessage(1012, LogLevel.Error, "Connection {ConnectionId} send loop failed unexpectedly; aborting the connection")]
    public static partial void SendLoopFailed(ILogger logger, long connectionId, Exception exception);
}
