namespace Switchboard.Protocol;

/// <summary>
/// Values of the <c>code</c> field in an <c>{"op":"error"}</c> message. These strings are public API:
/// clients branch on them.
/// </summary>
public static class ErrorCodes
{
    /// <summary>The frame was not a JSON object (malformed JSON, nesting too deep, not an object).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The <c>op</c> field named no known command.</summary>
    public const string UnknownOp = "unknown_op";

    /// <summary>A field is missing or has the wrong type or range; the message names the field.</summary>
    public const string InvalidField = "invalid_field";

    /// <summary>A room name broke the naming rules (see docs/protocol.md).</summary>
    public const string InvalidRoom = "invalid_room";

    /// <summary>A user id broke the naming rules.</summary>
    public const string InvalidUser = "invalid_user";

    /// <summary>The connection is not a member of the room it tried to publish to or leave.</summary>
    public const string NotJoined = "not_joined";

    /// <summary>The connection is already a member of the room it tried to join.</summary>
    public const string AlreadyJoined = "already_joined";

    /// <summary>The connection reached <c>Limits:MaxRoomsPerConnection</c>.</summary>
    public const string TooManyRooms = "too_many_rooms";

    /// <summary>A binary frame did not start with a valid Switchboard binary header.</summary>
    public const string BadBinaryHeader = "bad_binary_header";

    /// <summary>The token in an <c>auth</c> or <c>refresh</c> was not accepted.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>The connection's identity may not do this in this room (join, publish, presence, history).</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The connection exceeded its command or publish rate; the command was dropped. Slow down.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>
    /// The server's broker (for example Redis) could not be reached: the command was not carried out.
    /// Retry after a short backoff.
    /// </summary>
    public const string Unavailable = "unavailable";

    /// <summary>
    /// In a <c>removed</c> message only: the node lost part of the room's stream (Redis restarted empty,
    /// trimmed it, or its offsets went backwards), so the position the client holds cannot be continued.
    /// Sent with <c>rejoin:true</c>: join the room again with <c>since</c> (answered <c>recovered:false</c>).
    /// </summary>
    public const string StreamLost = "stream_lost";

    /// <summary>The server could not complete the command; retrying later may succeed.</summary>
    public const string Internal = "internal";
}
