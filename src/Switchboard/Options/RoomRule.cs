namespace Switchboard.Options;

/// <summary>
/// Who may do what in the rooms whose name matches <see cref="Pattern"/>. Rules are tried in order;
/// the first match decides.
/// </summary>
public sealed class RoomRule
{
    /// <summary>A room name, or a prefix ending in <c>*</c> (<c>public:*</c>); <c>*</c> alone matches every room.</summary>
    public string Pattern { get; set; } = "*";

    /// <summary>Who may join: <c>anyone</c> (anonymous included), <c>authenticated</c>, <c>granted</c> (by the token's rooms claim) or <c>nobody</c>.</summary>
    public string Join { get; set; } = RoomAccess.Anyone;

    /// <summary>Who may publish: <c>members</c> (anyone who may join and has joined), <c>granted</c>, or <c>server</c> (the HTTP API only).</summary>
    public string Publish { get; set; } = RoomAccess.Members;

    /// <summary>Whether those who may join may also see the room's presence.</summary>
    public bool Presence { get; set; } = true;

    /// <summary>Whether those who may join may also read the room's history.</summary>
    public bool History { get; set; } = true;
}
