using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
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
public sealed class MemoryBroker : IBroker
{
    private readonly ConcurrentDictionary<string, MemoryRoomStream> _streams = new(StringComparer.Ordinal);
    private readonly HistoryOptions _history;
    private readonly TimeProvider _time;
    private IBrokerHandler? _handler;

    /// <summary>Creates the broker.</summary>
    public MemoryBroker(IOptions<SwitchboardOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _history = options.Value.History;
        _time = time;
    }

    private IBrokerHandler Handler => _handler ?? throw new InvalidOperationException("The broker is not attached to a node.");

    private TimeSpan Ttl => TimeSpan.FromSeconds(_history.TtlSeconds);

    /// <summary>The number of room streams currently held, for tests and metrics.</summary>
    public int StreamCount => _streams.Count;

    /// <inheritdoc/>
    public void Attach(IBrokerHandler handler) => _handler = handler;

    /// <inheritdoc/>
    /// <remarks>
    /// Completes once the publication has been handed to the node's members, so a publisher sees its
    /// message before its reply; usually that is before this method returns.
    /// </remarks>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken)
    {
        // The delivery may run on another publisher's thread: the publication carries its own context.
        var trace = SwitchboardTracing.CurrentPublish?.Context ?? default;
        while (true)
        {
            var stream = _streams.GetOrAdd(room, static r => new MemoryRoomStream(r));
            Publication publication;
            StreamPosition position;
            lock (stream)
            {
                if (stream.Removed)
                {
                    continue;
                }

                publication = stream.Append(from, payload, isBinary, _history.Size, _time.GetUtcNow(), trace);
                position = stream.Position;
            }

            stream.Deliveries.Deliver(Handler);
            var delivered = stream.Deliveries.WhenDelivered(publication.Offset);
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
            var stream = _streams.GetOrAdd(room, static r => new MemoryRoomStream(r));
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
            var stream = _streams.GetOrAdd(room, static r => new MemoryRoomStream(r));
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
                _streams.TryRemove(new KeyValuePair<string, MemoryRoomStream>(room, stream));
            }
        }
    }
}
