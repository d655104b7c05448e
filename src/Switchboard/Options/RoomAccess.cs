namespace Switchboard.Options;

/// <summary>The values <see cref="RoomRule.Join"/> and <see cref="RoomRule.Publish"/> accept.</summary>
public static class RoomAccess
{
    /// <summary>Every connection, anonymous ones included.</summary>
    public const string Anyone = "anyone";

    /// <summary>Connections with a verified identity (a token, the hosting app's sign-in, or the development <c>?user=</c>).</summary>
    public const string Authenticated = "authenticated";

    /// <summary>Connections whose token (or app user) lists the room, or a matching pattern, in its rooms claim.</summary>
    public const string Granted = "granted";

    /// <summary>No connection.</summary>
    public const string Nobody = "nobody";

    /// <summary>Publish only: members of the room.</summary>
    public const string Members = "members";

    /// <summary>Publish only: the HTTP API alone (push-notification rooms).</summary>
    public const string Server = "server";
}
