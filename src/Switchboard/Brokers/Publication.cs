using System.Diagnostics;
using System.Runtime.CompilerServices;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// One publication in a room's stream. Immutable once built; it is encoded into its wire frame when
/// built, so a publication is serialized once however many members, nodes' fan-outs and recoveries
/// use it, and its payload is held once: <see cref="Payload"/> is a slice of that frame, not a copy.
/// </summary>
public sealed class Publication
{
    // The frame live members receive, built in the constructor: the JSON message for JSON payloads
    // (which embeds the payload verbatim), the binary message frame for binary ones (which ends with it).
    private readonly byte[] _live;

    // Binary publications only: the base64 JSON form for join and history replies, written once by
    // whichever thread first needs it and published with a compare-exchange, so every thread uses the
    // same array.
    private byte[]? _json;

    // Boxed: most publications carry no trace context, and a history entry then pays one null
    // reference instead of an empty ActivityContext's 32 bytes.
    private readonly StrongBox<ActivityContext>? _trace;

    /// <summary>Creates a publication and encodes its frame; <paramref name="payload"/> is copied, not kept.</summary>
    public Publication(string room, ulong offset, string? from, ReadOnlyMemory<byte> payload, bool isBinary, DateTimeOffset time)
    {
        Room = room;
        Offset = offset;
        From = from;
        IsBinary = isBinary;
        Time = time;
        var span = payload.Span;
        _live = isBinary ? BinaryFrames.EncodeMessage(room, from, offset, span) : ServerMessages.Message(room, from, offset, span, binary: false);
        // Both encodings put the payload last (before the JSON object's closing brace), byte for byte.
        var at = isBinary ? _live.Length - span.Length : _live.Length - 1 - span.Length;
        Payload = at >= 0 && _live.AsSpan(at, span.Length).SequenceEqual(span) ? _live.AsMemory(at, span.Length) : payload.ToArray();
    }

    /// <summary>The room it was published to.</summary>
    public string Room { get; }

    /// <summary>Its offset in the room's stream, starting at 1.</summary>
    public ulong Offset { get; }

    /// <summary>The publishing user, or null when published through the HTTP API.</summary>
    public string? From { get; }

    /// <summary>Raw JSON data, or binary bytes when <see cref="IsBinary"/>; a slice of the encoded frame.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Whether the payload is binary.</summary>
    public bool IsBinary { get; }

    /// <summary>When the broker accepted it; history older than <c>History:TtlSeconds</c> is dropped.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>
    /// The context of the span that published it (<see cref="Telemetry.SwitchboardTracing.PublishSpan"/>),
    /// perhaps received from another node; default when nobody traced the publish. Each node's
    /// delivery span is its child, so a publication and all its deliveries share one trace.
    /// </summary>
    public ActivityContext TraceContext
    {
        get => _trace?.Value ?? default;
        init => _trace = value == default ? null : new StrongBox<ActivityContext>(value);
    }

    /// <summary>The <c>message</c> JSON object, also used inside join and history replies.</summary>
    public byte[] Json => IsBinary
        ? LazyInitializer.EnsureInitialized(ref _json, () => ServerMessages.Message(Room, From, Offset, Payload.Span, binary: true))
        : _live;

    /// <summary>The frame live members receive: the JSON message, or a binary message frame for binary payloads.</summary>
    public OutboundFrame LiveFrame => new(_live, IsBinary);

    /// <summary>
    /// Bytes this publication holds when retained in history, as budgets count them (<c>History:MaxBytesPerRoom</c>
    /// and the others): its frame, the base64 JSON a binary publication builds for its first history
    /// read (counted from the start, so the figure never grows while it is retained), and a fixed
    /// allowance for the objects and strings around them.
    /// </summary>
    public long RetainedBytes => _live.Length + (IsBinary ? Base64Length(Payload.Length) + _live.Length - Payload.Length + 64 : 0) + ObjectOverhead;

    /// <summary>
    /// A fixed allowance per retained publication for what is not its frame: this object, its time and
    /// offset, the queue and ledger entries that hold it.
    /// </summary>
    internal const int ObjectOverhead = 160;

    private static long Base64Length(int bytes) => ((long)bytes + 2) / 3 * 4;
}
