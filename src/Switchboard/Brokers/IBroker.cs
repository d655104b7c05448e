using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// Carries publications, direct messages and presence events between the nodes that serve a room or
/// user, and owns each room's ordered stream (offsets, epoch, bounded history). The in-memory broker
/// serves one node; a distributed broker implements the same contract for many.
/// </summary>
/// <remarks>
/// Contract: publications of one room reach <see cref="IBrokerHandler.OnPublication"/> in offset
/// order, each exactly once per node that has declared interest with <see cref="SubscribeRoomAsync"/>.
/// A broker that cannot do what is asked throws <see cref="BrokerUnavailableException"/>, never
/// drops silently: the caller then answers its client with an error.
/// </remarks>
public interface IBroker
{
    /// <summary>Connects the broker to the node that receives its deliveries. Called once, before use.</summary>
    void Attach(IBrokerHandler handler);

    /// <summary>Appends a publication to the room's stream under the next offset and delivers it.</summary>
    /// <returns>The publication's position.</returns>
    /// <remarks>
    /// Called inside the publish span when one is traced: a broker gives every <see cref="Publication"/>
    /// it delivers the <see cref="Publication.TraceContext"/> of <see cref="Telemetry.SwitchboardTracing.CurrentPublish"/>,
    /// carrying it to other processes if it has any (the Redis broker sends <c>traceparent</c> and
    /// <c>tracestate</c> with the publication).
    /// </remarks>
    ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken)
        => PublishAsync(room, from, payload, isBinary, idempotencyKey: null, cancellationToken);

    /// <summary>
    /// As <see cref="PublishAsync(string, string?, ReadOnlyMemory{byte}, bool, CancellationToken)"/>,
    /// unless a publication with <paramref name="idempotencyKey"/> was appended to the room within
    /// <c>History:IdempotencyWindowSeconds</c>: then nothing is appended or delivered, and the first
    /// publication's position is returned (on every node of a distributed broker).
    /// </summary>
    ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Delivers an encoded direct message to every connection of <paramref name="user"/> on every node.</summary>
    ValueTask SendToUserAsync(string user, OutboundFrame frame, CancellationToken cancellationToken);

    /// <summary>Delivers an encoded presence event to every member of <paramref name="room"/> on every node.</summary>
    ValueTask PublishPresenceAsync(string room, OutboundFrame frame, CancellationToken cancellationToken);

    /// <summary>
    /// Announces that <paramref name="user"/>'s first connection on this node joined <paramref name="room"/>
    /// (or its last here left), <paramref name="frame"/> being the encoded <c>joined</c>/<c>left</c> event.
    /// A single-node broker delivers it as <see cref="PublishPresenceAsync"/> does. A broker shared by
    /// several nodes delivers it only when it changes whether the user is in the room anywhere: its
    /// first connection on any node joined, or its last on every node left.
    /// </summary>
    ValueTask AnnouncePresenceAsync(string room, string user, bool joined, OutboundFrame frame, CancellationToken cancellationToken)
        => PublishPresenceAsync(room, frame, cancellationToken);

    /// <summary>
    /// Reads the room's stream. With <paramref name="since"/>: the publications after it (at most
    /// <paramref name="limit"/>) and whether none are missing. Without: the latest <paramref name="limit"/>.
    /// </summary>
    ValueTask<StreamRead> ReadStreamAsync(string room, StreamPosition? since, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The users of <paramref name="room"/> with their connection counts, across every node. A
    /// single-node broker answers from <see cref="IBrokerHandler.LocalPresence"/>.
    /// </summary>
    ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken);

    /// <summary>Null while the broker can serve; otherwise why it cannot (logged and shown on the dashboard; <c>/readyz</c> answers 503 meanwhile).</summary>
    string? Unavailable { get; }

    /// <summary>
    /// Declares that this node has members in <paramref name="room"/>; completes once publications of
    /// the room are on their way here, so a stream read after it cannot miss any. The hub calls it once
    /// when the room's first member arrives and <see cref="UnsubscribeRoomAsync"/> once when the last
    /// leaves, never concurrently for one room and always alternating (even after a failed subscribe).
    /// </summary>
    ValueTask SubscribeRoomAsync(string room, CancellationToken cancellationToken);

    /// <summary>Declares that this node has no more members in <paramref name="room"/> (paired with <see cref="SubscribeRoomAsync"/>).</summary>
    ValueTask UnsubscribeRoomAsync(string room, CancellationToken cancellationToken);

    /// <summary>Declares that this node has connections of <paramref name="user"/>.</summary>
    ValueTask SubscribeUserAsync(string user, CancellationToken cancellationToken);

    /// <summary>Declares that this node has no more connections of <paramref name="user"/>.</summary>
    ValueTask UnsubscribeUserAsync(string user, CancellationToken cancellationToken);
}
