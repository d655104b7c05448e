using System.Text;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>On a three-master Redis Cluster: a room's channel is a sharded channel on the master that owns the room's slot.</summary>
[Trait("Category", "external")]
public sealed class ClusterPubSubTests(ClusterTopology redis) : IClassFixture<ClusterTopology>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly List<RedisBroker> _brokers = [];

    public Task InitializeAsync() => redis.FlushAsync();

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task ARoomsPublicationsTravelOnAShardedChannelOfTheMasterThatOwnsItsSlot()
    {
        var (a, b) = (new RecordingHandler(), new RecordingHandler());
        var subscriber = await StartAsync(a);
        var publisher = await StartAsync(b);
        Assert.True(subscriber.Home.IsCluster, "the cluster was detected");
        const string room = "sharded-lobby";
        await subscriber.SubscribeRoomAsync(room, Timeout());
        var before = await SpublishCallsAsync();
        for (var i = 0; i < 5; i++)
        {
            await publisher.PublishAsync(room, "bob", Encoding.UTF8.GetBytes($"{i}"), isBinary: false, Timeout());
        }

        await Eventually.TrueAsync(() => a.Offsets(room).Length == 5, "the other node received every publication");
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], a.Offsets(room));

        // Only the master that owns the room's slot knows the channel, as a shard channel; no classic
        // channel exists anywhere (which every master would have had to carry).
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Shards[0]).WaitAsync(Deadline);
        var owners = new List<int>();
        foreach (var server in redis.Servers)
        {
            var master = admin.GetServer("127.0.0.1", server.Port);
            if (await NumsubAsync(master, "SHARDNUMSUB", "sb:room:{sharded-lobby}") > 0)
            {
                owners.Add(server.Port);
            }

            Assert.Equal(0, await NumsubAsync(master, "NUMSUB", "sb:room:{sharded-lobby}"));
        }

        Assert.Single(owners);
        Assert.Equal(5, await SpublishCallsAsync() - before);
    }

    private async Task<RedisBroker> StartAsync(RecordingHandler handler)
    {
        var broker = await RedisNodes.StartBrokerAsync(redis.Shards, handler);
        _brokers.Add(broker);
        return broker;
    }

    /// <summary>Subscribers of <paramref name="channel"/> on one master: PUBSUB NUMSUB or SHARDNUMSUB answers [channel, count].</summary>
    private static async Task<long> NumsubAsync(IServer master, string kind, string channel) =>
        (long)((RedisResult[])(await master.ExecuteAsync("PUBSUB", kind, channel).WaitAsync(Deadline))!)[1];

    /// <summary>SPUBLISH calls on every master (from scripts too), by <c>INFO commandstats</c>.</summary>
    private async Task<long> SpublishCallsAsync()
    {
        long calls = 0;
        foreach (var server in redis.Servers)
        {
            var line = (await server.BulkCommandAsync("INFO", "commandstats")).Split("\r\n").FirstOrDefault(l => l.StartsWith("cmdstat_spublish:", StringComparison.Ordinal));
            calls += line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
        }

        return calls;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;
}
