namespace Switchboard.Options;

/// <summary>Room permissions.</summary>
public sealed class RoomsOptions
{
    /// <summary>
    /// Rules by room-name pattern; the first match decides. A room no rule matches is closed (only the
    /// user's personal room and rooms the token grants may be joined, without presence or history)
    /// unless <see cref="AllowAll"/> is on.
    /// </summary>
    public List<RoomRule> Rules { get; set; } = [];

    /// <summary>
    /// INSECURE outside development: a room no rule matches is open to every connection, with presence
    /// and history, as if a final rule <c>{"Pattern":"*"}</c> were configured. Anyone who can connect can
    /// then join, read and see the members of any room by guessing its name. Off by default; on in
    /// <c>appsettings.Development.json</c> for the demo chat. Warned about at start-up.
    /// </summary>
    public bool AllowAll { get; set; }

    /// <summary>
    /// Prefix of each user's personal room (<c>user:alice</c>): only that user may join it, and only
    /// the HTTP API may publish to it. Empty disables personal rooms.
    /// </summary>
    public string PersonalPrefix { get; set; } = "user:";
}
