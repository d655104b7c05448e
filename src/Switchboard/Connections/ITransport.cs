namespace Switchboard.Connections;

/// <summary>Handles one complete message received on a connection.</summary>
/// <param name="connection">The session it arrived on.</param>
/// <param name="message">The message; valid only until the returned task completes.</param>
/// <param name="isBinary">Whether it came as binary (a WebSocket binary frame) rather than text.</param>
public delegate ValueTask MessageHandler(Connection connection, ReadOnlyMemory<byte> message, bool isBinary);

/// <summary>How a transport's receive loop ended.</summary>
public enum ReceiveEnd
{
    /// <summary>The peer closed.</summary>
    PeerClosed,

    /// <summary>The server asked to close and the peer completed the close.</summary>
    ServerClosed,
}

/// <summary>
/// The wire under a session (<see cref="Connection"/>): a WebSocket today; server-sent events or
/// HTTP streaming tomorrow. The session decides what to send, when to close and with which code; the
/// transport only moves bytes. The session's send loop is the only caller of <see cref="SendAsync"/>
/// and <see cref="CloseAsync"/>, and its owner the only caller of <see cref="ReceiveAsync"/>.
/// </summary>
public interface ITransport : IDisposable
{
    /// <summary>
    /// Writes one message. Text may hold several newline-separated protocol messages when the
    /// session batches. Throws when the peer is gone; the session then aborts.
    /// </summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, CancellationToken cancellationToken);

    /// <summary>Tells the peer the session is over, with a close code and reason, after everything sent before.</summary>
    ValueTask CloseAsync(int code, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Reads whole messages and hands each to <paramref name="handler"/>, one at a time, until the
    /// peer closes. Once <paramref name="session"/> is closing, further input is read and discarded.
    /// Throws when the peer vanishes or breaks the framing, or when the session is aborted.
    /// </summary>
    Task<ReceiveEnd> ReceiveAsync(Connection session, MessageHandler handler);

    /// <summary>Ends the transport at once, without a close handshake.</summary>
    void Abort();
}
