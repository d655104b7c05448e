using System.Text.Json;
using Switchboard.Brokers;

namespace Switchboard.Dashboard;

internal sealed partial class DashboardStats
{
    private async Task<Reading> SampleAsync(Reading previous, CancellationToken cancellationToken)
    {
        // Observable gauges (connections, rooms, users, queues) report when asked.
        _listener.RecordObservableInstruments();
        var now = _time.GetTimestamp();
        var seconds = Math.Max(_time.GetElapsedTime(previous.Timestamp, now).TotalSeconds, 0.001);
        var totals = Totals();
        double Rate(string name) => Math.Max(0, totals.GetValueOrDefault(name) - previous.Totals.GetValueOrDefault(name)) / seconds;
        var time = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var gauges = Gauges();
        var sample = new StatsSample(time, Rate("messages.in"), Rate("messages.out"), Rate("bytes.in"), Rate("bytes.out"), Rate("publications"), gauges.GetValueOrDefault("connections"));

        var unavailable = _hub.Unavailable;
        var (rooms, tops) = await ReadRoomsAsync(previous, seconds, readTops: Volatile.Read(ref _watchers) > 0 && unavailable is null, cancellationToken);
        var self = new NodeReport(_nodes.NodeId, (int)sample.Connections, (int)gauges.GetValueOrDefault("rooms"), sample.MessagesIn, sample.MessagesOut, time);
        var nodes = unavailable is null ? await ExchangeReportsAsync(self, cancellationToken) : [self];
        var snapshot = new StatsSnapshot(
            time,
            _nodes.NodeId,
            _brokerName,
            _nodes.SeesCluster,
            unavailable,
            gauges.GetValueOrDefault("connections"),
            gauges.GetValueOrDefault("users"),
            gauges.GetValueOrDefault("rooms"),
            gauges.GetValueOrDefault("queue.messages"),
            gauges.GetValueOrDefault("queue.bytes"),
            sample,
            new SortedDictionary<string, long>(totals, StringComparer.Ordinal),
            Tagged("closes"),
            Tagged("errors"),
            rooms.Take(ListedRooms).ToArray(),
            rooms.Where(r => r.PerSecond > 0).OrderByDescending(r => r.PerSecond).Take(ListedRooms).ToArray(),
            nodes.OrderBy(n => n.Id, StringComparer.Ordinal).ToArray());

        lock (_historyLock)
        {
            _history.Enqueue(sample);
            while (_history.Count > HistoryLength)
            {
                _history.Dequeue();
            }
        }

        // One immutable frame, published with one write; then its predecessor wakes the watchers.
        var frame = new Frame(JsonSerializer.Serialize(snapshot, Json));
        var published = Interlocked.Exchange(ref _latest, frame);
        published.Next.TrySetResult(frame);
        return new Reading(now, totals, tops);
    }

    /// <summary>
    /// The biggest rooms on this node, with their publication rate from the growth of their stream
    /// top when <paramref name="readTops"/> (broker reads cost a round trip each with Redis: only while
    /// a dashboard is open, and not while the broker is down, where each read would wait for its deadline).
    /// </summary>
    private async Task<(List<RoomStats> Rooms, Dictionary<string, StreamPositionAt> Tops)> ReadRoomsAsync(Reading previous, double seconds, bool readTops, CancellationToken cancellationToken)
    {
        var biggest = _hub.Rooms().OrderByDescending(r => r.Connections).ThenBy(r => r.Room, StringComparer.Ordinal).Take(TrackedRooms).ToArray();
        var tops = new Dictionary<string, StreamPositionAt>(StringComparer.Ordinal);
        var rooms = new List<RoomStats>(biggest.Length);
        foreach (var (room, connections, users) in biggest)
        {
            StreamPositionAt? top = readTops ? await ReadTopAsync(room, cancellationToken) : null;
            // One failure says the broker is down: the other rooms wait for the next second.
            readTops &= top is not null;
            double? rate = null;
            if (top is { } t)
            {
                tops[room] = t;
                if (previous.Tops.TryGetValue(room, out var before) && before.Epoch == t.Epoch && t.Offset >= before.Offset)
                {
                    rate = (t.Offset - before.Offset) / seconds;
                }
            }

            rooms.Add(new RoomStats(room, connections, users, top?.Offset, rate));
        }

        return (rooms, tops);
    }

    private async Task<IReadOnlyList<NodeReport>> ExchangeReportsAsync(NodeReport self, CancellationToken cancellationToken)
    {
        try
        {
            return await _nodes.ExchangeAsync(self, cancellationToken);
        }
        catch (BrokerUnavailableException ex)
        {
            Log.NodesUnavailable(_logger, ex);
            return [self];
        }
    }

    private async Task<StreamPositionAt?> ReadTopAsync(string room, CancellationToken cancellationToken)
    {
        try
        {
            var read = await _broker.ReadStreamAsync(room, null, 0, cancellationToken);
            return new StreamPositionAt(read.Top.Offset, read.Top.Epoch);
        }
        catch (BrokerUnavailableException ex)
        {
            Log.RoomTopUnavailable(_logger, room, ex);
            return null;
        }
    }

    private Dictionary<string, long> Totals()
    {
        lock (_instrumentsLock)
        {
            return _instruments.Where(i => !i.IsObservable).GroupBy(i => i.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(i => i.Value), StringComparer.Ordinal);
        }
    }

    private Dictionary<string, long> Gauges()
    {
        lock (_instrumentsLock)
        {
            return _instruments.Where(i => i.IsObservable).GroupBy(i => i.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(i => i.Value), StringComparer.Ordinal);
        }
    }

    private SortedDictionary<string, long> Tagged(string name)
    {
        lock (_instrumentsLock)
        {
            return _instruments.FirstOrDefault(i => i.Name == name)?.ByCode() ?? new SortedDictionary<string, long>(StringComparer.Ordinal);
        }
    }
}
