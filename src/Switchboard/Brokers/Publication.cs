using System.Diagnostics;
using System.Runtime.CompilerServices;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// One publication in a room's stream. Immutable once built; it encodes its wire frames lazily and
/// caches them, so a publication is serialized once however many members, nodes' fan-outs and
/// recoveries use it.
/// </summary>
public sealed class Publication
{
    // Written once by whichever thread first needs them, published with a compare-exchange: a
    // reference is read whole, and every thread then uses the same array (a Nullable<OutboundFrame>
    // field could be read half-written).
    private byte[]? _json;
    private byte[]? _live;

    // Boxed: most publications carry no trace context, and a history entry then pays one null
    // reference instead of an empty ActivityContext's 32 bytes.
    private readonly StrongBox<ActivityContext>? _trace;

    /// <summary>Creates a publication.</summary>
    public Publication(string room, ulong offset, string? from, ReadOnlyMemory<byte> payload, bool isBinary, DateTimeOffset time)
    {
        Room = room;
        Offset = offset;
        From = from;
        Payload = payload;
        IsBinary = isBinary;
        Time = time;
    }

    /// <summary>The room it was published to.</summary>
    public string Room { get; }

    /// <summary>Its offset in the room's stream, starting at 1.</summary>
    public ulong Offset { get; }

    /// <summary>The publishing user, or null when published through the HTTP API.</summary>
    public string? From { get; }

    /// <summary>Raw JSON data, or binary bytes when <see cref="IsBinary"/>.</summary>
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
    public byte[] Json => LazyInitializer.EnsureInitialized(ref _json, () => ServerMessages.Message(Room, From, Offset, Payload.Span, IsBinary));

    /// <summary>The frame live members receive: the JSON message, or a binary message frame for binary payloads.</summary>
    public OutboundFrame LiveFrame => new(
        LazyInitializer.EnsureInitialized(ref _live, () => IsBinary ? BinaryFrames.EncodeMessage(Room, From, Offset, Payload.Span) : Json),
        IsBinary);
}
