namespace Switchboard.Client;

/// <summary>Where a <see cref="SwitchboardClient"/> is in its life.</summary>
public enum ConnectionState
{
    /// <summary>Not started yet, or making the first connection.</summary>
    Connecting,

    /// <summary>Connected: the welcome arrived, rooms were re-joined and the offline queue was sent.</summary>
    Connected,

    /// <summary>The connection dropped; waiting <see cref="ConnectionStatus.Delay"/> before the next attempt.</summary>
    Reconnecting,

    /// <summary>Closed for good: disposed, or the server gave a close code that forbids reconnecting (4500 and above, 1000, 1002, 1007, 1009).</summary>
    Closed,
}
