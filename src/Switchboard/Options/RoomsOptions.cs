namespace Switchboard.Options;

/// <summary>Room permissions.</summary>
public sealed class RoomsOptions
{
    /// <summary>Rules by room-name pattern; the first match decides. With none, every room is open to every connection.</summary>
    public List<RoomRule> Rules { get; set; } = [];

    /// <summary>
    /// Prefix of each user's personal room (<c>user:alice</c>): only that user may join it, and only
    /// the HTTP API may publish to it. Empty disables personal rooms.
    /// </summary>
    public string PersonalPrefix { get; set; } = "user:";
}
