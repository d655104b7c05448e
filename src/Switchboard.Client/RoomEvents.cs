using Switchboard.Protocol;

namespace Switchboard.Client;

/// <summary>A user's first connection joined the room (<paramref name="Joined"/>), or its last one left.</summary>
/// <param name="Room">The room.</param>
/// <param name="User">The user.</param>
/// <param name="Joined">True for <c>joined</c>, false for <c>left</c>.</param>
public sealed record PresenceChange(string Room, string User, bool Joined);

/// <summary>A re-join after a reconnect recovered every publication missed meanwhile.</summary>
/// <param name="Room">The room.</param>
/// <param name="Count">How many missed publications were delivered (before any newer one).</param>
/// <param name="Position">The room's position after recovery.</param>
public sealed record RoomRecovery(string Room, int Count, StreamPosition Position);

/// <summary>
/// A re-join could not recover what was missed: the room's epoch changed (its stream was forgotten
/// or the node restarted) or the missed publications are no longer retained. The application should
/// reload its state by other means; the publications still retained are delivered after this event.
/// </summary>
/// <param name="Room">The room.</param>
/// <param name="Previous">The last position the client had seen.</param>
/// <param name="Current">The room's position now.</param>
public sealed record RoomReset(string Room, StreamPosition Previous, StreamPosition Current);

/// <summary>
/// The server removed the connection from the room (for example <c>forbidden</c>: a refreshed token no
/// longer grants it). The room is left: no more messages, and it is not joined again after a reconnect.
/// </summary>
/// <param name="Room">The room.</param>
/// <param name="Code">Why, as an error code (<see cref="ErrorCodes"/>).</param>
/// <param name="Message">The server's explanation.</param>
public sealed record RoomRemoved(string Room, string Code, string Message);

/// <summary>Messages dropped from a room's buffer because the application did not read them in time.</summary>
/// <param name="Room">The room.</param>
/// <param name="Total">Messages dropped from this room's buffer so far.</param>
/// <param name="Oldest">The message just dropped.</param>
public sealed record MessagesDropped(string Room, long Total, RoomMessage Oldest);

/// <summary>An error the server sent without a command id (for example about a binary publish).</summary>
/// <param name="Code">The error code (<see cref="ErrorCodes"/>).</param>
/// <param name="Message">The server's explanation.</param>
public sealed record ServerError(string Code, string Message);

/// <summary>The answer to a history query: the room's position and the publications asked for, oldest first.</summary>
/// <param name="Position">The room's current position.</param>
/// <param name="Recovered">With <c>since</c>: whether nothing between it and the position was lost.</param>
/// <param name="Messages">The publications.</param>
public sealed record HistoryPage(StreamPosition Position, bool? Recovered, IReadOnlyList<RoomMessage> Messages);
