namespace Switchboard.Options;

/// <summary>
/// WebSocket compression (permessage-deflate, RFC 7692), off unless configured. Each connection
/// compresses on its own: a publication encoded once for a room is deflated once per member, so
/// compression trades the node's CPU for bandwidth (figures in docs/benchmarks.md).
/// </summary>
public sealed class CompressionOptions
{
    /// <summary>
    /// Whether the node accepts a client's permessage-deflate offer on <c>/ws</c>, <c>/rooms/{room}</c>
    /// and <c>/echo</c>. Clients that offer nothing are served uncompressed either way.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Outbound messages (whole frames, after batching) smaller than this go uncompressed: deflate
    /// saves little on a short message and still costs a compressor's set-up per message.
    /// </summary>
    public int MinMessageBytes { get; set; } = 256;

    /// <summary>
    /// Whether the node keeps each connection's compression state between messages (context
    /// takeover). Better ratios on similar messages, but a deflate and an inflate state live as long as
    /// the connection, idle or not; off, they exist only while a message is compressed or inflated, and
    /// the node asks the client to do the same (<c>client_no_context_takeover</c>).
    /// </summary>
    public bool ContextTakeover { get; set; }

    /// <summary>
    /// The largest LZ77 window the node compresses with (<c>server_max_window_bits</c>, 9 to 15), and
    /// the one it asks a client to compress with when the client lets it (<c>client_max_window_bits</c>).
    /// A smaller window needs less memory per compressor and finds fewer repeats in long messages.
    /// </summary>
    public int WindowBits { get; set; } = 15;
}
