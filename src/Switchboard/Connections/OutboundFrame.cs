namespace Switchboard.Connections;

/// <summary>
/// An encoded frame waiting in a connection's outbound queue. The same <see cref="Data"/> array is
/// shared by every connection it is queued to, so it must never be written after creation.
/// </summary>
public readonly record struct OutboundFrame(byte[] Data, bool IsBinary)
{
    /// <summary>A text frame holding UTF-8 JSON without raw newlines (so it can be batched).</summary>
    public static OutboundFrame Text(byte[] data) => new(data, false);

    /// <summary>A binary frame.</summary>
    public static OutboundFrame Binary(byte[] data) => new(data, true);
}
