namespace Switchboard.Client;

/// <summary>
/// The client's state and why it is in it, published as one immutable value so a reader never sees
/// the new state with the old close code.
/// </summary>
/// <param name="State">The state.</param>
/// <param name="Attempt">Consecutive failed or short-lived connections; 0 once a connection was stable.</param>
/// <param name="Delay">In <see cref="ConnectionState.Reconnecting"/>: how long the client waits before the next attempt.</param>
/// <param name="CloseCode">The close code of the last connection (1006 when it dropped without one), if any.</param>
/// <param name="CloseReason">The server's close reason, if any.</param>
/// <param name="Error">The exception that ended the last attempt, if any.</param>
/// <param name="Transport">In <see cref="ConnectionState.Connected"/>: what carries the connection (a WebSocket, or server-sent events after a fallback).</param>
public sealed record ConnectionStatus(
    ConnectionState State,
    int Attempt = 0,
    TimeSpan? Delay = null,
    int? CloseCode = null,
    string? CloseReason = null,
    Exception? Error = null,
    ClientTransport? Transport = null);
