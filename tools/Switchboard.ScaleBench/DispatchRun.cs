using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Redis;

namespace Switchboard.ScaleBench;

/// <summary>
/// The broker's dispatch alone, without sockets: node A (a Redis broker in this process) serves a big
/// room and a small room; node B publishes to both at fixed rates, so everything reaches A by pub/sub.
/// A's handler does a big room's fan-out as the hub does, one bounded queue write per member (queues of
/// 16 that drop their oldest, so no reader is needed), and times the small room's deliveries from
/// the publisher's timestamp. What it shows is whether a big fan-out holds up other rooms' deliveries
/// inside the node, which sockets, send loops and the receiving clients would otherwise hide.
/// </summary>
internal static class DispatchRun
{
    public static async Task<string> RunAsync(string redis, int members, int bigRate, int smallRate, TimeSpan warmup, TimeSpan measure, CancellationToken cancellationToken)
    {
        var node = new FanOutNode(members);
        await using var a = await StartAsync(redis, node, cancellationToken);
        await using var b = await StartAsync(redis, new FanOutNode(0), cancellationToken);
        await a.SubscribeRoomAsync(FanOutNode.BigRoom, cancellationToken);
        await a.SubscribeRoomAsync(FanOutNode.SmallRoom, cancellationToken);

        var publishes = new List<Task>();
        var start = Stopwatch.GetTimestamp();
        var (bigSent, smallSent) = (0L, 0L);
        var measuring = false;
        var big = new byte[64];
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        while (Stopwatch.GetElapsedTime(start) < warmup + measure)
        {
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (!measuring && elapsed >= warmup.TotalSeconds)
            {
                measuring = true;
                node.MeasureFrom(Stopwatch.GetTimestamp());
            }

            // Open loop: a publish is not awaited before the next, so a slow delivery cannot slow the offer.
            for (; bigSent < (long)(elapsed * bigRate); bigSent++)
            {
                publishes.Add(b.PublishAsync(FanOutNode.BigRoom, null, big, isBinary: true, cancellationToken).AsTask());
            }

            for (; smallSent < (long)(elapsed * smallRate); smallSent++)
            {
                var stamp = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(stamp, Stopwatch.GetTimestamp());
                publishes.Add(b.PublishAsync(FanOutNode.SmallRoom, null, stamp, isBinary: true, cancellationToken).AsTask());
            }

            await tick.WaitForNextTickAsync(cancellationToken);
        }

        await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((node.SmallDelivered < smallSent || node.BigDelivered < bigSent) && DateTime.UtcNow < deadline)
        {
            // Polling interval while the last deliveries drain.
            await Task.Delay(10, cancellationToken);
        }

        var seconds = (warmup + measure).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"| {members} × {bigRate}/s ({members * (long)bigRate:N0} member writes/s) | {node.BigDelivered}/{bigSent} in {seconds:F0} s | ") + LatencyRun.Row("", $"small room {smallRate}/s", node.Latencies(), (int)node.SmallDelivered, (int)smallSent)[5..];
    }

    private static async Task<RedisBroker> StartAsync(string redis, IBrokerHandler handler, CancellationToken cancellationToken)
    {
        var broker = new RedisBroker(Microsoft.Extensions.Options.Options.Create(new RedisBrokerOptions { Configuration = redis }), Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions { Broker = "redis" }));
        broker.Attach(handler);
        await broker.ConnectAsync(cancellationToken);
        return broker;
    }

    /// <summary>Node A: the big room's members are bounded queues; the small room's one delivery is timed.</summary>
    private sealed class FanOutNode : IBrokerHandler
    {
        public const string BigRoom = "dispatch-big";
        public const string SmallRoom = "dispatch-small";
        private readonly Channel<ReadOnlyMemory<byte>>[] _members;
        private readonly List<double> _latencies = [];
        private long _measureFrom = long.MaxValue;
        private long _big;
        private long _small;

        public FanOutNode(int members) => _members = Enumerable.Range(0, members)
            .Select(_ => Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true }))
            .ToArray();

        public long BigDelivered => Interlocked.Read(ref _big);

        public long SmallDelivered => Interlocked.Read(ref _small);

        public void MeasureFrom(long timestamp) => Interlocked.Exchange(ref _measureFrom, timestamp);

        public double[] Latencies()
        {
            lock (_latencies)
            {
                return [.. _latencies];
            }
        }

        public void OnPublication(Publication publication)
        {
            if (publication.Room == BigRoom)
            {
                foreach (var member in _members)
                {
                    member.Writer.TryWrite(publication.Payload);
                }

                Interlocked.Increment(ref _big);
                return;
            }

            var now = Stopwatch.GetTimestamp();
            var sent = BinaryPrimitives.ReadInt64LittleEndian(publication.Payload.Span);
            Interlocked.Increment(ref _small);
            if (sent >= Interlocked.Read(ref _measureFrom))
            {
                lock (_latencies)
                {
                    _latencies.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
                }
            }
        }

        public void OnDirect(string user, OutboundFrame frame)
        {
        }

        public void OnPresenceChange(string room, OutboundFrame frame)
        {
        }

        public void OnStreamLost(string room)
        {
        }

        public IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room) => [];

        public IReadOnlyCollection<string> LocalRooms() => [];
    }
}
