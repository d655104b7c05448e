using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>Redis broker log events. Event ids are stable: operators filter and alert on them.</summary>
internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Information, "Redis broker node {Node} connected to {Endpoints}")]
    public static partial void Connected(ILogger logger, string node, string endpoints);

    [LoggerMessage(5002, LogLevel.Warning, "Redis broker node {Node} could not reach Redis at {Endpoints} at start-up; it serves nothing that needs Redis until it can (/readyz answers 503)")]
    public static partial void NotConnectedAtStart(ILogger logger, string node, string endpoints);

    [LoggerMessage(5003, LogLevel.Warning, "Redis {ConnectionType} connection to {Endpoint} failed ({FailureType})")]
    public static partial void ConnectionFailed(ILogger logger, ConnectionType connectionType, string? endpoint, ConnectionFailureType failureType);

    [LoggerMessage(5004, LogLevel.Information, "Redis {ConnectionType} connection to {Endpoint} restored; catching up {Rooms} rooms")]
    public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string? endpoint, int rooms);

    [LoggerMessage(5005, LogLevel.Warning, "Lost part of room {Room}'s stream ({Reason}); removing its members here from the room with stream_lost so they re-join with since")]
    public static partial void StreamLost(ILogger logger, string room, string reason);

    [LoggerMessage(5006, LogLevel.Debug, "Room {Room}: delivered offsets {From} to {To} read from the stream")]
    public static partial void Filled(ILogger logger, string room, ulong from, ulong to);

    [LoggerMessage(5007, LogLevel.Debug, "Room {Room}: could not read the stream to fill a gap ({Reason}); retrying on reconnect or at the next heartbeat")]
    public static partial void FillFailed(ILogger logger, string room, string reason);

    [LoggerMessage(5008, LogLevel.Information, "Room {Room}: removed the presence of a node whose liveness key expired; {Count} users left with it")]
    public static partial void NodesReaped(ILogger logger, string room, int count);

    [LoggerMessage(5009, LogLevel.Debug, "Presence heartbeat failed: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(5014, LogLevel.Information, "Node {Node} stopped renewing its liveness key; this node finished cleaning up after it")]
    public static partial void NodeReaped(ILogger logger, string node);

    [LoggerMessage(5010, LogLevel.Debug, "Best-effort Redis cleanup failed ({What}): {Reason}; the entries expire on their own")]
    public static partial void CleanupFailed(ILogger logger, string what, string reason);

    [LoggerMessage(5011, LogLevel.Warning, "Ignored a malformed message on Redis channel {Channel}")]
    public static partial void Malformed(ILogger logger, string channel);

    [LoggerMessage(5012, LogLevel.Information, "Redis broker node {Node} stopped")]
    public static partial void Stopped(ILogger logger, string node);

    [LoggerMessage(5015, LogLevel.Warning, "Redis at {Endpoints} was unreachable at start-up, so whether it is a cluster is unknown: taken for a standalone Redis (set Switchboard:Redis:Cluster to say)")]
    public static partial void ModeUnknown(ILogger logger, string endpoints);

    [LoggerMessage(5016, LogLevel.Warning, "Redis pub/sub connection to {Endpoints} is silent: a liveness ping did not come back within {TimeoutSeconds} s; this node reports itself unavailable until pings flow again")]
    public static partial void PubSubSilent(ILogger logger, string endpoints, double timeoutSeconds);

    [LoggerMessage(5017, LogLevel.Information, "Redis pub/sub connection to {Endpoints} brings messages again; catching up {Rooms} rooms")]
    public static partial void PubSubBack(ILogger logger, string endpoints, int rooms);

    [LoggerMessage(5018, LogLevel.Warning, "Missed {Count} direct messages to user {User} while this node's pub/sub subscription was down or silent; they are not delivered here")]
    public static partial void DirectsMissed(ILogger logger, long count, string user);

    [LoggerMessage(5013, LogLevel.Error, "A delivery for {Target} failed; its worker goes on with the next")]
    public static partial void DeliveryFailed(ILogger logger, string target, Exception exception);
}
