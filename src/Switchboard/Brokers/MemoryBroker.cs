using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// The single-node broker: streams live in this process and deliveries go straight to the attached
/// node. Ordering comes from delivering while holding the room stream's lock; fan-out itself only
/// enqueues, so the lock is held for microseconds per member, never across socket I/O.
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
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken)
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

                var publication = stream.Append(from, payload, isBinary, _history.Size, _time.GetUtcNow());
                Handler.OnPublication(publication);
                return ValueTask.FromResult(stream.Position);
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
                    stream.Interest++;
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
                stream.Interest--;
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
                if (stream.Interest > 0 || now - stream.LastActivity < Ttl)
                {
                    continue;
                }

                stream.Removed = true;
                _streams.TryRemove(new KeyValuePair<string, MemoryRoomStream>(room, stream));
            }
        }
    }
}
