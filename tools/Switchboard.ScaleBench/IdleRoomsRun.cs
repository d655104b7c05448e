using System.Diagnostics;
using System.Globalization;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Redis;

namespace Switchboard.ScaleBench;

/// <summary>
/// What idle rooms cost Redis: <c>--nodes</c> Redis brokers in this process share <c>--rooms</c>
/// rooms, each room with one member on one node (joined through the broker API, as the hub does on a
/// join; no sockets, which would cost nothing in Redis anyway). Once every room's presence is written,
/// nothing happens for <c>--seconds</c> but the brokers' own heartbeats, and Redis's
/// <c>INFO commandstats</c> tells how many commands that took. Default presence settings (5 s, 15 s).
/// </summary>
internal static class IdleRoomsRun
{
    public static async Task<IReadOnlyList<string>> RunAsync(string redis, int nodes, int rooms, TimeSpan measure, CancellationToken cancellationToken)
    {
        var brokers = new List<RedisBroker>();
        try
        {
            var clock = Stopwatch.StartNew();
            for (var n = 0; n < nodes; n++)
            {
                var handler = new IdleNode();
                var broker = new RedisBroker(Microsoft.Extensions.Options.Options.Create(new RedisBrokerOptions { Configuration = redis }), Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions { Broker = "redis" }));
                broker.Attach(handler);
                await broker.ConnectAsync(cancellationToken);
                brokers.Add(broker);
                var mine = Enumerable.Range(0, rooms).Where(r => r % nodes == n).Select(r => "idle-" + r.ToString(CultureInfo.InvariantCulture)).ToArray();
                foreach (var room in mine)
                {
                    handler.Add(room, "user-" + room);
                }

                foreach (var batch in mine.Chunk(500))
                {
                    await Task.WhenAll(batch.Select(async room =>
                    {
                        await broker.SubscribeRoomAsync(room, cancellationToken);
                        // What the hub does on a member's first join: its presence entry, then the event.
                        await broker.PublishPresenceAsync(room, OutboundFrame.Text(System.Text.Encoding.UTF8.GetBytes($$"""{"op":"joined","room":"{{room}}","user":"user-{{room}}"}""")), cancellationToken);
                    }));
                }
            }

            var joined = clock.Elapsed;
            // Two intervals for every write the joins started to settle, then the idle measurement.
            await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            var before = await RedisInfo.CommandCallsAsync(redis, cancellationToken);
            var measured = Stopwatch.StartNew();
            await Task.Delay(measure, cancellationToken);
            var after = await RedisInfo.CommandCallsAsync(redis, cancellationToken);
            var seconds = measured.Elapsed.TotalSeconds;
            var deltas = after.Select(p => (Name: p.Key, Calls: p.Value - before.GetValueOrDefault(p.Key))).Where(p => p.Calls > 0 && p.Name != "info").OrderByDescending(p => p.Calls).ToArray();
            var total = deltas.Sum(p => p.Calls);
            var scripts = deltas.Where(p => p.Name is "evalsha" or "eval").Sum(p => p.Calls);
            return
            [
                string.Create(CultureInfo.InvariantCulture, $"{rooms} rooms on {nodes} nodes joined in {joined.TotalSeconds:F1} s; idle for {seconds:F1} s"),
                string.Create(CultureInfo.InvariantCulture, $"| {rooms} | {nodes} | {total / seconds:F1} | {scripts / seconds:F1} | {string.Join(", ", deltas.Take(8).Select(p => $"{p.Name} {p.Calls / seconds:F1}"))} |"),
            ];
        }
        finally
        {
            foreach (var broker in brokers)
            {
                await broker.DisposeAsync();
            }
        }
    }

    /// <summary>A node whose members never do anything: one user per room.</summary>
    private sealed class IdleNode : IBrokerHandler
    {
        private readonly Dictionary<string, KeyValuePair<string, int>[]> _presence = new(StringComparer.Ordinal);

        public void Add(string room, string user)
        {
            lock (_presence)
            {
                _presence[room] = [new(user, 1)];
            }
        }

        public void OnPublication(Publication publication)
        {
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

        public IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room)
        {
            lock (_presence)
            {
                return _presence.TryGetValue(room, out var users) ? users : [];
            }
        }

        public IReadOnlyCollection<string> LocalRooms()
        {
            lock (_presence)
            {
                return _presence.Keys.ToArray();
            }
        }
    }
}
