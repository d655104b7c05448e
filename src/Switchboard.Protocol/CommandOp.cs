namespace Switchboard.Protocol;

/// <summary>The commands a client may send on <c>/ws</c>.</summary>
public enum CommandOp
{
    /// <summary>Join a room, optionally recovering from a stream position.</summary>
    Join,

    /// <summary>Leave a room.</summary>
    Leave,

    /// <summary>Publish JSON data to a joined room.</summary>
    Publish,

    /// <summary>Send JSON data to every connection of a user.</summary>
    Send,

    /// <summary>List a room's users with their connection counts.</summary>
    Presence,

    /// <summary>Read a room's retained history.</summary>
    History,

    /// <summary>Authenticate a connection that arrived without a token (must be its first command).</summary>
    Auth,

    /// <summary>Replace the connection's token before it expires, without reconnecting.</summary>
    Refresh,
}
