namespace Switchboard.Options;

/// <summary>Bounds on what one connection may send, hold and queue.</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest message (all frames of it) a client may send; larger ones close the connection with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Most messages waiting in one connection's outbound queue before it is closed as a slow consumer (4000).</summary>
    public int MaxQueuedMessages { get; set; } = 4096;

    /// <summary>Most bytes waiting in one connection's outbound queue before it is closed as a slow consumer (4000).</summary>
    public int MaxQueuedBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most rooms one connection may be a member of at once; more gets a <c>too_many_rooms</c> error.</summary>
    public int MaxRoomsPerConnection { get; set; } = 128;

    /// <summary>
    /// Largest text frame the send loop builds by joining queued messages with newlines. Bigger batches
    /// mean fewer socket writes; this cap keeps one batch from delaying a connection's close or
    /// holding a large rented buffer.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 32 * 1024;

    /// <summary>How long a closing connection has to complete the close handshake before it is aborted.</summary>
    public double CloseTimeoutSeconds { get; set; } = 5;
}
