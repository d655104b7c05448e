using System.Text;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>On two standalone shards: each room's keys live on its shard alone, node-level keys on shard 0.</summary>
[Trait("Category", "external")]
public sealed class ShardPlacementTests(StandaloneShardsTopology redis) : IClassFixture<StandaloneShardsTopology>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly List<RedisBroker> _others = [];
    private RedisBroker? _broker;

    public Task InitializeAsync() => redis.FlushAsync();

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        foreach (var broker in _others)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task DirectMessagesReachUsersOfEveryShardFromAnotherNode()
    {
        var (sender, receiver) = (new RecordingHandler(), new RecordingHandler());
        _broker = await RedisNodes.StartBrokerAsync(redis.Shards, sender);
        var other = await RedisNodes.StartBrokerAsync(redis.Shards, receiver);
        _others.Add(other);
        // One user on each shard, whatever the names hash to.
        var users = Enumerable.Range(0, 100).Select(i => $"user-{i}").GroupBy(u => ShardRing.IndexOf(u, 2)).OrderBy(g => g.Key).Select(g => g.First()).ToArray();
        Assert.Equal(2, users.Length);
        foreach (var user in users)
        {
            await other.SubscribeUserAsync(user, Timeout());
            await _broker.SendToUserAsync(user, Switchboard.Connections.OutboundFrame.Text("{\"op\":\"direct\"}"u8.ToArray()), Timeout());
            await Eventually.TrueAsync(() => receiver.Directs(user).Length == 1, $"the direct message to {user} (shard {ShardRing.IndexOf(user, 2)}) arrived on the other node");
        }
    }

    [Fact]
    public async Task EachRoomsKeysLiveOnItsShardAloneAndNodeKeysOnShardZero()
    {
        var handler = new RecordingHandler();
        _broker = await RedisNodes.StartBrokerAsync(redis.Shards, handler);
        var rooms = Enumerable.Range(0, 20).Select(i => $"placed-{i}").ToArray();
        foreach (var room in rooms)
        {
            handler.SetPresence(room, "alice", 1);
            await _broker.SubscribeRoomAsync(room, Timeout());
            await _broker.PublishAsync(room, "alice", Encoding.UTF8.GetBytes("hi"), isBinary: false, Timeout());
        }

        var shards = rooms.Select(r => ShardRing.IndexOf(r, 2)).ToArray();
        Assert.Contains(0, shards);
        Assert.Contains(1, shards);
        for (var i = 0; i < rooms.Length; i++)
        {
            var owner = redis.Servers[shards[i]];
            var other = redis.Servers[1 - shards[i]];
            Assert.Equal(":1", await owner.CommandAsync("EXISTS", $"sb:{{{rooms[i]}}}:stream"));
            Assert.Equal(":0", await other.CommandAsync("EXISTS", $"sb:{{{rooms[i]}}}:stream"));
        }

        // Presence is written by the heartbeat after the join; the node's list of rooms is on shard 0.
        await Eventually.TrueAsync(async () => await redis.Servers[0].CommandAsync("SCARD", $"sb:{{#nodes}}:rooms:{_broker.NodeId}") == $":{rooms.Length}", "every room is in the node's list on shard 0");
        Assert.Equal(":1", await redis.Servers[0].CommandAsync("EXISTS", "sb:{#nodes}:index"));
        Assert.Equal(":0", await redis.Servers[1].CommandAsync("EXISTS", "sb:{#nodes}:index", $"sb:{{#nodes}}:rooms:{_broker.NodeId}", "sb:{#nodes}:active"));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;
}
