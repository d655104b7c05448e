using Microsoft.Extensions.Logging;

namespace Switchboard.Client;

/// <summary>The client's log events. Event ids and names are stable: operators filter on them.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Connected to {Uri} as {User} (session {Session}) over {Transport}", EventName = "Connected")]
    public static partial void Connected(ILogger logger, Uri uri, string user, string session, ClientTransport transport);

    [LoggerMessage(2, LogLevel.Information, "Connection lost with close code {CloseCode} ({Reason}); reconnect attempt {Attempt} in {Delay}", EventName = "Reconnecting")]
    public static partial void Reconnecting(ILogger logger, int? closeCode, string? reason, int attempt, TimeSpan delay);

    [LoggerMessage(3, LogLevel.Warning, "Closed by the server with code {CloseCode} ({Reason}); not reconnecting", EventName = "ClosedByServer")]
    public static partial void ClosedByServer(ILogger logger, int? closeCode, string? reason);

    [LoggerMessage(4, LogLevel.Debug, "Connection attempt failed", EventName = "ConnectFailed")]
    public static partial void ConnectFailed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Error, "An event handler threw", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "Server error without a command id: {Code} {Message}", EventName = "ServerError")]
    public static partial void ServerError(ILogger logger, string code, string message);

    [LoggerMessage(7, LogLevel.Warning, "Token refresh failed", EventName = "RefreshFailed")]
    public static partial void RefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Room {Room} could not be recovered (epoch {PreviousEpoch} offset {PreviousOffset} -> epoch {Epoch} offset {Offset})", EventName = "RoomReset")]
    public static partial void RoomReset(ILogger logger, string room, string previousEpoch, ulong previousOffset, string epoch, ulong offset);

    [LoggerMessage(9, LogLevel.Warning, "Joining room {Room} failed: {Code}", EventName = "JoinFailed")]
    public static partial void JoinFailed(ILogger logger, string room, string code);

    [LoggerMessage(10, LogLevel.Debug, "Dropped a message of room {Room} from a full buffer ({Total} so far)", EventName = "MessageDropped")]
    public static partial void MessageDropped(ILogger logger, string room, long total);

    [LoggerMessage(11, LogLevel.Warning, "Unreadable frame from the server", EventName = "BadFrame")]
    public static partial void BadFrame(ILogger logger, Exception exception);

    [LoggerMessage(12, LogLevel.Information, "Closed", EventName = "Closed")]
    public static partial void Closed(ILogger logger);

    [LoggerMessage(13, LogLevel.Information, "{Transport} could not be opened ({Error}); trying {Next}", EventName = "TransportFallback")]
    public static partial void TransportFallback(ILogger logger, ClientTransport transport, string error, ClientTransport next);
}
