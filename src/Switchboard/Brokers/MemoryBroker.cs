using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Brokers;

/// <summary>
/// The single-node broker: streams live in this process and deliveries go straight to the attached
/// node. The room stream's lock only orders: it takes the offset and appends to the history and the
/// delivery line; fan-out happens after it is released, one deliverer per room at a time, so a join
/// reading the stream never waits behind a fan-out to thousands of members.
/// </summary>
/// <remarks>
/// Retained history is bounded per room (count and bytes), per publishing user and per node
/// (<see cref="HistoryOptions"/>); <see cref="HistoryLedger"/> keeps the node-wide account.
/// </remarks>
public sealed class MemoryBroker : IBroker
{
    private readonly ConcurrentDictionary<string, MemoryRoomStream> _streams = new(StringComparer.Ordinal);
    private readonly HistoryOptions _history;
    private readonly HistoryLedger _ledger;
    private readonly Func<string, MemoryRoomStream> _newStream;
    // Serializes evictions for the node budget; taken before any stream's lock, never inside one.
    private readonly Lock _evicting = new();
    private readonly TimeProvider _time;
    private IBrokerHandler? _handler;

    /// <summary>Creates the broker; with <paramref name="metrics"/>, it reports its retained history.</summary>
    public MemoryBroker(IOptions<SwitchboardOptions> options, TimeProvider time, SwitchboardMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _history = options.Value.History;
        _time = time;
        // Reported only where this broker serves: with another broker it exists for the sweeper alone and holds nothing.
        metrics = options.Value.Broker == "memory" ? metrics : null;
        var dropped = metrics?.Meter.CreateCounter<long>("switchboard.history.dropped", description: "Publications a history byte budget pushed out before their time, or kept out, by reason (room_bytes, user_bytes, node_bytes).");
        _ledger = new HistoryLedger(_history, dropped);
        _newStream = room => new MemoryRoomStream(room, _ledger);
        metrics?.Meter.CreateObservableGauge("switchboard.history.bytes", () => _ledger.Bytes, description: "Bytes of history the in-memory broker retains on this node, as the History byte budgets count them.");
        metrics?.Meter.CreateObservableGauge("switchboard.history.publications", () => _ledger.Count, description: "Publications the in-memory broker retains in history on this node.");
    }

    private IBrokerHandler Handler => _handler ?? throw new InvalidOperationException("The broker is not attached to a node.");

    private TimeSpan Ttl => TimeSpan.FromSeconds(_history.TtlSeconds);

    /// <summary>The number of room streams currently held, for tests and metrics.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Bytes of history retained on this node, as the budgets count them (<c>switchboard.history.bytes</c>).</summary>
    public long RetainedBytes => _ledger.Bytes;

    /// <summary>Publications retained in history on this node.</summary>
    public int RetainedCount => _ledger.Count;

    /// <summary>Bytes of history retained for publications of <paramref name="user"/> on this node.</summary>
    public long RetainedBytesOf(string user) => _ledger.UserBytes(user);

    /// <inheritdoc/>
    public void Attach(IBrokerHandler handler) => _handler = handler;

    /// <inheritdoc/>
    /// <remarks>
    /// Completes once the publication has been handed to the node's members, so a publisher sees its
    /// message before its reply; usually that is before this method returns.
    /// </remarks>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken) =>
        PublishAsync(room, from, payload, isBinary, idempotencyKey: null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// A repeated key is answered once its first publication has been handed to the node's members,
    /// as the first publish was, so a retrying publisher still sees its message before its reply.
    /// </remarks>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // The delivery may run on another publisher's thread: the publication carries its own context.
        var trace = SwitchboardTracing.CurrentPublish?.Context ?? default;
        while (true)
        {
            var stream = _streams.GetOrAdd(room, _newStream);
            StreamPosition position;
            var repeated = false;
            lock (stream)
            {
                if (stream.Removed)
                {
                    continue;
                }

                var now = _time.GetUtcNow();
                if (idempotencyKey is not null && stream.Keys.TryGet(idempotencyKey, now, out var first))
                {
                    position = new StreamPosition(first, stream.Epoch);
                    repeated = true;
                }
                else
                {
                    position = new StreamPosition(stream.Append(from, payload, isBinary, now, trace).Offset, stream.Epoch);
                    if (idempotencyKey is not null)
                    {
                        stream.Keys.Remember(idempotencyKey, position.Offset, now);
                    }
                }
            }

            if (!repeated)
            {
                EnforceNodeBudget();
                stream.Deliveries.Deliver(Handler);
            }

            var delivered = stream.Deliveries.WhenDelivered(position.Offset);
            return delivered.IsCompletedSuccessfully
                ? ValueTask.FromResult(position)
                : AwaitDeliveredAsync(delivered, position, cancellationToken);
        }

        static async ValueTask<StreamPosition> AwaitDeliveredAsync(Task delivered, StreamPosition position, CancellationToken cancellationToken)
        {
            await delivered.WaitAsync(cancellationToken).ConfigureAwait(false);
            return position;
        }
    }

    /// <summary>Pushes the node's oldest retained publications out until the node is within <c>History:MaxBytesPerNode</c>.</summary>
    private void EnforceNodeBudget()
    {
        if (_ledger.Bytes <= _history.MaxBytesPerNode)
        {
            return;
        }

        lock (_evicting)
        {
            while (_ledger.Bytes > _history.MaxBytesPerNode && _ledger.Oldest is { } oldest)
            {
                // Its room may drop it before this lock is taken; then the next oldest is tried.
                lock (oldest.Stream)
                {
                    oldest.Stream.EvictForNode(oldest);
                }
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask SendToUserAsync(string user, OutboundFrame frame, CancellationToken cancellationToken)
    {
        Handler.OnDirect(user, frame);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask PublishPresenceAsync(string room, OutboundFrame frame, CancellationToken cancellationToken)
    {
        Handler.OnPresenceChange(room, frame);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<StreamRead> ReadStreamAsync(string room, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var stream = _streams.GetOrAdd(room, _newStream);
            lock (stream)
            {
                if (stream.Removed)
                {
                    continue;
                }

                stream.Trim(_time.GetUtcNow() - Ttl);
                return ValueTask.FromResult(stream.Read(since, limit));
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Handler.LocalPresence(room));

    /// <inheritdoc/>
    public string? Unavailable => null;

    /// <inheritdoc/>
    public ValueTask SubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        while (true)
        {
            var stream = _streams.GetOrAdd(room, _newStream);
            lock (stream)
            {
                if (!stream.Removed)
                {
                    stream.Subscribed = true;
                    return ValueTask.CompletedTask;
                }
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask UnsubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        if (_streams.TryGetValue(room, out var stream))
        {
            lock (stream)
            {
                stream.Subscribed = false;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask SubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc/>
    public ValueTask UnsubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Trims expired history and forgets streams nobody is in whose last publication is older than the
    /// history TTL: their next publication starts a new epoch, as a client recovering into them must learn.
    /// </summary>
    public void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (room, stream) in _streams)
        {
            lock (stream)
            {
                stream.Trim(now - Ttl);
                if (stream.Subscribed || now - stream.LastActivity < Ttl)
                {
                    continue;
                }

                stream.Removed = true;
                stream.Clear();
                _streams.TryRemove(new KeyValuePair<string, MemoryRoomStream>(room, stream));
            }
        }
    }
}
