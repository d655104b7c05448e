using System.Buffers;

namespace Switchboard.Client;

/// <summary>
/// One connection's way to the server. The client drives it exactly as a WebSocket: one receive loop
/// calls <see cref="ReceiveAsync"/>, one writer loop calls <see cref="SendAsync"/> and, when its queue
/// is completed, <see cref="CloseOutputAsync"/>. Everything above (sessions, recovery, the offline
/// queue, reconnects) does not know which transport carries it.
/// </summary>
internal interface IClientTransport : IDisposable
{
    ClientTransport Kind { get; }

    /// <summary>Text commands queued together are joined into one frame or body, one per line, up to this size.</summary>
    int MaxBatchBytes { get; }

    /// <summary>Whether binary publishes can be sent.</summary>
    bool SupportsBinary { get; }

    /// <summary>
    /// The close this side decided (the client closed, or the server refused a command's POST), which
    /// the receive loop reports instead of 1006 when the read then fails.
    /// </summary>
    (int Code, string? Reason)? LocalClose { get; }

    /// <summary>Opens the connection; throws when it cannot be opened (the case that falls back to the next transport).</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Reads the next whole message into <paramref name="buffer"/>; a close is reported, not thrown.</summary>
    ValueTask<TransportMessage> ReceiveAsync(ArrayBufferWriter<byte> buffer, int maxBytes);

    /// <summary>Writes one frame (or POST body). Only the writer loop calls this.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> frame, bool binary);

    /// <summary>
    /// The writer's queue is done: with <paramref name="closeRequested"/> the client closes; otherwise
    /// a close received from the server is answered where the transport has a handshake.
    /// </summary>
    ValueTask CloseOutputAsync(bool closeRequested);

    /// <summary>Tears the connection down without a handshake; the receive loop then ends.</summary>
    void Abort();

    /// <summary>A refreshed token, for transports that send it again later (each POST of an event stream).</summary>
    void UpdateToken(string token);
}

/// <summary>What <see cref="IClientTransport.ReceiveAsync"/> read.</summary>
internal readonly record struct TransportMessage(TransportMessageType Type, int CloseCode = 0, string? CloseReason = null)
{
    public static TransportMessage Text => new(TransportMessageType.Text);

    public static TransportMessage Binary => new(TransportMessageType.Binary);

    public static TransportMessage Close(int code, string? reason) => new(TransportMessageType.Close, code, reason);
}

/// <summary>The kinds of <see cref="TransportMessage"/>.</summary>
internal enum TransportMessageType
{
    Text,
    Binary,
    Close,
}
