using System.Globalization;
using StackExchange.Redis;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <summary>The <c>cause</c> tag of <c>switchboard.redis.pubsub_stalls</c> when StackExchange.Redis reports the subscriber connection failed.</summary>
    internal const string StallCauseDisconnected = "disconnected";

    /// <summary>The <c>cause</c> tag of <c>switchboard.redis.pubsub_stalls</c> when a liveness ping did not come back.</summary>
    internal const string StallCauseSilent = "silent";

    // Hash tags tried per cluster master before giving up on covering it: a master owning even 1% of
    // the slots is hit within a few hundred tries.
    private const int ProbeTagAttempts = 100_000;

    private Task _probes = Task.CompletedTask;

    /// <summary>Stalls counted so far on this node, by either cause (for tests).</summary>
    internal long PubSubStalls => Interlocked.Read(ref _pubSubStallCount);

    private long _pubSubStallCount;
    private long _catchUps;

    /// <summary>The probe loops of every shard (none when <see cref="RedisBrokerOptions.PubSubProbeIntervalSeconds"/> is 0).</summary>
    private Task ProbeLoopsAsync(RedisShard[] shards, CancellationToken stopping) =>
        _options.PubSubProbeIntervalSeconds > 0 ? Task.WhenAll(shards.Select(s => ProbeShardAsync(s, stopping))) : Task.CompletedTask;

    /// <summary>
    /// Subscribes this node's probe channels on <paramref name="shard"/> (once it takes commands: on a
    /// cluster the channels are chosen by which master owns which slot) and runs their probes.
    /// </summary>
    private async Task ProbeShardAsync(RedisShard shard, CancellationToken stopping)
    {
        try
        {
            await shard.Verify.WaitAsync(stopping).ConfigureAwait(false);
            var subscriber = shard.Redis.GetSubscriber();
            var interval = TimeSpan.FromSeconds(_options.PubSubProbeIntervalSeconds);
            var timeout = TimeSpan.FromSeconds(_options.PubSubProbeTimeoutSeconds);
            var probes = new List<(PubSubProbe Probe, RedisChannel Channel)>();
            foreach (var tag in ProbeTags(shard))
            {
                var probe = new PubSubProbe(interval, timeout, _time);
                var channel = shard.Channel(Keys.ProbeChannelName(NodeId, tag));
                // Registered like every subscription: StackExchange.Redis sends it again after each reconnect.
                await subscriber.SubscribeAsync(channel, (_, value) =>
                {
                    if (long.TryParse((string?)value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                    {
                        probe.OnEcho(number);
                    }
                }, CommandFlags.FireAndForget).ConfigureAwait(false);
                probes.Add((probe, channel));
            }

            shard.Probes = [.. probes.Select(p => p.Probe)];
            await Task.WhenAll(probes.Select(p => p.Probe.RunAsync(
                (number, token) => SendProbeAsync(subscriber, p.Channel, number, token),
                () => OnPubSubSilent(shard),
                () => OnPubSubBack(shard),
                stopping))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// One tag on a standalone Redis. On a cluster, one per master, each hashing to a slot that master
    /// owns, so every subscriber connection is checked (a cluster resharded since is covered as far as
    /// the old tags still reach; see docs/scaling.md).
    /// </summary>
    private static List<string> ProbeTags(RedisShard shard)
    {
        if (!shard.IsCluster)
        {
            return ["0"];
        }

        var cluster = shard.Redis.GetServers().Select(s => s.ClusterConfiguration).FirstOrDefault(c => c is not null);
        var masters = cluster?.Nodes.Where(n => !n.IsReplica && n.Slots.Count > 0).Select(n => n.EndPoint).ToHashSet() ?? [];
        var tags = new List<string>();
        for (var i = 0; i < ProbeTagAttempts && masters.Count > 0; i++)
        {
            var tag = i.ToString(CultureInfo.InvariantCulture);
            var owner = cluster!.GetBySlot(shard.Redis.HashSlot("{" + tag + "}"))?.EndPoint;
            if (owner is not null && masters.Remove(owner))
            {
                tags.Add(tag);
            }
        }

        return tags.Count > 0 ? tags : ["0"];
    }

    private async Task SendProbeAsync(ISubscriber subscriber, RedisChannel channel, long number, CancellationToken stopping)
    {
        // A PING on the subscriber connection itself: StackExchange.Redis declares a connection dead, and
        // opens a new one, when it read nothing for four async timeouts while commands sent on it time
        // out. The publication alone goes out on the interactive connection and would never trip that.
        ObserveLater(subscriber.PingAsync());
        await WithDeadline(subscriber.PublishAsync(channel, number), stopping).ConfigureAwait(false);
    }

    private void CountStall(string cause)
    {
        Interlocked.Increment(ref _pubSubStallCount);
        _pubSubStalls?.Add(1, new KeyValuePair<string, object?>("cause", cause));
    }

    private void OnPubSubSilent(RedisShard shard)
    {
        CountStall(StallCauseSilent);
        Log.PubSubSilent(_logger, shard.Endpoints, _options.PubSubProbeTimeoutSeconds);
    }

    /// <summary>Pings come back again: whatever the silence swallowed is caught up, as after a reconnect.</summary>
    private void OnPubSubBack(RedisShard shard)
    {
        Log.PubSubBack(_logger, shard.Endpoints, _rooms.Count);
        RequestResync(shard);
    }
}
