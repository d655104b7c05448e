using System.Text;
using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Xunit;
using StreamPosition = Switchboard.Protocol.StreamPosition;

namespace Switchboard.Tests.Redis;

/// <summary>
/// What only a shared Redis shows: two broker nodes in one process, messages lost on the way
/// (published by the same script to a channel nobody hears), streams lost, nodes that die.
/// </summary>
[Trait("Category", "external")]
public sealed class RedisBrokerTests : IAsyncLifetime
{
    private const string NodeIndex = "sb:{#nodes}:index";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    // Rebuilds a room's stream and top as a replica that stopped after offset ARGV[1] has them.
    private const string LagBehindScript = """
        local kept = redis.call('XRANGE', KEYS[1], '-', ARGV[1] .. '-0')
        redis.call('DEL', KEYS[1])
        for i = 1, #kept do redis.call('XADD', KEYS[1], kept[i][1], unpack(kept[i][2])) end
        redis.call('HSET', KEYS[2], 'top', ARGV[1])
        return #kept
        """;
    private readonly List<RedisBroker> _brokers = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(persistent: true);

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task PublicationsFromTwoNodesReachBothInTheSameOffsetOrder()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await b.Broker.SubscribeRoomAsync(room, Timeout());
        const int each = 100;
        await Task.WhenAll(new[] { a, b }.Select(node => Task.Run(async () =>
        {
            for (var i = 0; i < each; i++)
            {
                await Publish(node, room, $"{i}");
            }
        }))).WaitAsync(Deadline);

        var expected = Enumerable.Range(1, 2 * each).Select(i => (ulong)i).ToArray();
        foreach (var node in new[] { a, b })
        {
            await Eventually.TrueAsync(() => node.Handler.Offsets(room).Length >= expected.Length, "every publication reached the node");
            Assert.Equal(expected, node.Handler.Offsets(room));
            Assert.Equal(0, node.Handler.StreamLosses(room));
        }
    }

    [Fact]
    public async Task ARetryOnAnotherNodeWithTheSameIdempotencyKeyAppendsNothing()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await b.Broker.SubscribeRoomAsync(room, Timeout());

        var first = await a.Broker.PublishAsync(room, "tester", Encoding.UTF8.GetBytes("paid"), isBinary: false, "order-17", Timeout());
        var retry = await b.Broker.PublishAsync(room, "tester", Encoding.UTF8.GetBytes("paid"), isBinary: false, "order-17", Timeout());
        var next = await Publish(b, room, "shipped");

        Assert.Equal(first, retry);
        Assert.Equal(first.Offset + 1, next.Offset);
        Assert.Equal(2, (await Read(a, room)).Publications.Count);
        foreach (var node in new[] { a, b })
        {
            await Eventually.TrueAsync(() => node.Handler.Offsets(room).Length >= 2, "both publications reached the node");
            Assert.Equal([first.Offset, next.Offset], node.Handler.Offsets(room));
        }
    }

    [Fact]
    public async Task AGapLeftByALostMessageIsFilledFromTheStreamBeforeLaterOffsets()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await Publish(b, room, "1");
        await PublishUnheardAsync(b, room, "2 never announced");
        await Publish(b, room, "3");

        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length >= 3, "the missing offset was read from the stream");
        Assert.Equal([1UL, 2UL, 3UL], a.Handler.Offsets(room));
        Assert.Equal("2 never announced", Encoding.UTF8.GetString(a.Handler.Publications(room)[1].Payload.Span));
        Assert.Equal(0, a.Handler.StreamLosses(room));
    }

    [Fact]
    public async Task ALostLastMessageIsDeliveredByTheNextHeartbeat()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await Publish(b, room, "1");
        await PublishUnheardAsync(b, room, "2, with nothing after it");

        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length >= 2, "the heartbeat found the undelivered offset");
        Assert.Equal([1UL, 2UL], a.Handler.Offsets(room));
    }

    [Fact]
    public async Task ALossSeenByOneProbeIsProbedAgainAfterTheRoomLeftTheRecentSet()
    {
        // Probes a second apart: the test acts between two of them.
        var (a, b) = (await StartAsync(interval: 1, timeout: 5), await StartAsync(interval: 1, timeout: 5));
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await Publish(b, room, "1");
        await PublishUnheardAsync(b, room, "2, with nothing after it");
        var broker = (RedisBroker)a.Broker;
        await Eventually.TrueAsync(() => broker.FeedOf(room)!.IsBehindProbe || a.Handler.Offsets(room).Length == 2, "a probe saw top 2 with 1 delivered");

        // A starved heartbeat: the room's mark in the recent set expires before the next probe.
        await _redis.CommandAsync("ZREM", "sb:{#nodes}:active", room);

        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length >= 2, "the next probe looked again and filled offset 2");
        Assert.Equal([1UL, 2UL], a.Handler.Offsets(room));
    }

    [Fact]
    public async Task AGapNoLongerRetainedClosesTheRoomsMembersAndDeliveryGoesOn()
    {
        var a = await StartAsync(historySize: 2);
        var b = await StartAsync(historySize: 2);
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        for (var i = 1; i <= 4; i++)
        {
            await PublishUnheardAsync(b, room, $"{i}");
        }

        await Publish(b, room, "5");
        await Eventually.TrueAsync(() => a.Handler.StreamLosses(room) == 1, "the node reported the loss");
        await Publish(b, room, "6");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Contains(6UL), "delivery went on after the loss");
        Assert.DoesNotContain(1UL, a.Handler.Offsets(room));
        Assert.Equal(a.Handler.Offsets(room).Order(), a.Handler.Offsets(room));
    }

    [Fact]
    public async Task WhenTheStreamIsLostANewEpochStartsAndMembersAreTold()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        var before = await Publish(b, room, "1");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 1, "the first publication arrived");

        Assert.Equal(":2", await _redis.CommandAsync("DEL", $"sb:{{{room}}}:meta", $"sb:{{{room}}}:stream"));
        var after = await Publish(b, room, "again");

        Assert.NotEqual(before.Epoch, after.Epoch);
        Assert.Equal(1UL, after.Offset);
        await Eventually.TrueAsync(() => a.Handler.StreamLosses(room) == 1, "the node saw the new epoch");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 2, "the new epoch's first publication was delivered");
        var read = await b.Broker.ReadStreamAsync(room, before, 10, Timeout());
        Assert.False(read.Recovered);
    }

    [Fact]
    public async Task OffsetsHandedOutAgainUnderOneEpochRotateTheEpochAndMembersAreTold()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await b.Broker.SubscribeRoomAsync(room, Timeout());
        StreamPosition before = default;
        for (var i = 1; i <= 5; i++)
        {
            before = await Publish(b, room, $"{i}");
        }

        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 5 && b.Handler.Offsets(room).Length == 5, "both nodes delivered offsets 1-5");

        // What a failover to a replica that missed the last three publications leaves behind: the
        // same epoch, the top back at 2, a stream that ends at entry 2 (and never saw 3-5).
        Assert.Equal(":2", await _redis.CommandAsync("EVAL", LagBehindScript, "2", $"sb:{{{room}}}:stream", $"sb:{{{room}}}:meta", "2"));
        var again = await Publish(b, room, "after the failover");
        // Two more bring the top back to what was delivered, so only the publications themselves,
        // not the top, can show that offsets 3-5 were handed out twice.
        await Publish(b, room, "second after");
        await Publish(b, room, "third after");

        Assert.Equal((3UL, before.Epoch), (again.Offset, again.Epoch));
        foreach (var node in new[] { a, b })
        {
            await Eventually.TrueAsync(() => node.Handler.StreamLosses(room) == 1, "the node saw its offsets go backwards and told its members");
        }

        var read = await a.Broker.ReadStreamAsync(room, before, 10, Timeout());
        Assert.False(read.Recovered);
        Assert.NotEqual(before.Epoch, read.Top.Epoch);
        var next = await Publish(a, room, "under the new epoch");
        Assert.Equal((read.Top.Offset + 1, read.Top.Epoch), (next.Offset, next.Epoch));
        foreach (var node in new[] { a, b })
        {
            await Eventually.TrueAsync(() => node.Handler.Offsets(room)[^1] == next.Offset, "the new epoch's publications were delivered");
        }
    }

    [Fact]
    public async Task ATopBelowWhatWasDeliveredRotatesTheEpochAtTheNextProbe()
    {
        var a = await StartAsync();
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        var before = await Publish(a, room, "1");
        await Publish(a, room, "2");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 2, "offsets 1-2 were delivered");

        // Redis lost the last publication and nobody publishes again: only the probe can see it.
        await _redis.CommandAsync("HSET", $"sb:{{{room}}}:meta", "top", "1");

        await Eventually.TrueAsync(() => a.Handler.StreamLosses(room) == 1, "the probe saw the top below what was delivered", Deadline);
        var read = await a.Broker.ReadStreamAsync(room, before, 10, Timeout());
        Assert.NotEqual(before.Epoch, read.Top.Epoch);
    }

    [Fact]
    public async Task APositionReadBeforeLaterDeliveriesIsNoRegression()
    {
        var a = await StartAsync();
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        var first = await Publish(a, room, "1");
        var feed = ((RedisBroker)a.Broker).FeedOf(room)!;
        // A probe takes what was delivered, then reads the room's top (1)...
        var before = feed.Delivered;
        Assert.Equal((first.Epoch, 1UL), before);
        // ...while two more publications are delivered, before its answer is applied.
        await Publish(a, room, "2");
        await Publish(a, room, "3");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 3, "offsets 1-3 were delivered");

        feed.Probe(first.Epoch, top: 1, before);

        Assert.False(feed.IsRotating, "a top read before deliveries 2 and 3 is not below what was delivered when it was read");
        feed.Probe(first.Epoch, top: 1, feed.Delivered);
        Assert.True(feed.IsRotating, "the same top against what was delivered before the read is a regression");
    }

    [Fact]
    public async Task PresenceIsTheUnionOfEveryNodesUsers()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        a.Handler.SetPresence(room, "alice", 1);
        b.Handler.SetPresence(room, "alice", 2);
        b.Handler.SetPresence(room, "bob", 1);
        foreach (var node in new[] { a, b })
        {
            await node.Broker.SubscribeRoomAsync(room, Timeout());
            await node.Broker.PublishPresenceAsync(room, Joined(room, "any"), Timeout());
        }

        foreach (var node in new[] { a, b })
        {
            Assert.Equal([new("alice", 3), new("bob", 1)], await node.Broker.PresenceAsync(room, Timeout()));
        }

        await b.Broker.UnsubscribeRoomAsync(room, Timeout());
        Assert.Equal([new("alice", 1)], await a.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task ANodeThatDiesLeavesPresenceWithinTheTimeoutAndItsUsersLeave()
    {
        // The test timeout (RedisNodes) is well above any stall a busy machine causes: a live node taken
        // for dead would send a second left event. The bounds waited for below are the test's deadlines,
        // not measurements.
        const double timeout = RedisNodes.PresenceTimeoutSeconds;
        var (a, b, c) = (await StartAsync(), await StartAsync(), await StartAsync());
        var room = NewRoom();
        a.Handler.SetPresence(room, "alice", 1);
        b.Handler.SetPresence(room, "carol", 1);
        c.Handler.SetPresence(room, "bob", 1);
        c.Handler.SetPresence(room, "alice", 1);
        foreach (var node in new[] { a, b, c })
        {
            await node.Broker.SubscribeRoomAsync(room, Timeout());
        }

        foreach (var (node, user) in new[] { (a, "alice"), (b, "carol"), (c, "bob"), (c, "alice") })
        {
            // As the hub announces each user's first connection on a node.
            await node.Broker.AnnouncePresenceAsync(room, user, joined: true, Joined(room, user), Timeout());
        }

        Assert.Equal([new("alice", 2), new("bob", 1), new("carol", 1)], await a.Broker.PresenceAsync(room, Timeout()));
        var dying = (RedisBroker)c.Broker;
        Assert.True(await IsLiveAsync(dying.NodeId));
        _brokers.Remove(dying);
        await dying.AbandonAsync();

        // Gone from presence once its liveness key expires, before anyone cleaned up after it.
        await Eventually.TrueAsync(async () => !await IsLiveAsync(dying.NodeId), "the dead node's liveness ended", TimeSpan.FromSeconds(timeout + 20));
        Assert.Equal([new("alice", 1), new("carol", 1)], await a.Broker.PresenceAsync(room, Timeout()));

        var bobLeft = Encoding.UTF8.GetString(ServerMessages.PresenceChange(joined: false, room, "bob"));
        foreach (var survivor in new[] { a, b })
        {
            await Eventually.TrueAsync(() => survivor.Handler.PresenceChanges(room).Contains(bobLeft), "every survivor heard that bob left", TimeSpan.FromSeconds(20));
        }

        // Cleaned up once: the dead node is out of the index and its rooms' entries are gone.
        await Eventually.TrueAsync(async () => await _redis.CommandAsync("ZSCORE", NodeIndex, dying.NodeId) == "$-1", "the dead node left the index", TimeSpan.FromSeconds(20));
        Assert.Equal(":0", await _redis.CommandAsync("EXISTS", $"sb:{{{room}}}:node:{dying.NodeId}"));
        Assert.Equal(":0", await _redis.CommandAsync("SISMEMBER", $"sb:{{{room}}}:members", dying.NodeId));
        foreach (var survivor in new[] { a, b })
        {
            Assert.Equal([bobLeft], survivor.Handler.PresenceChanges(room).Where(e => e.Contains("\"left\"", StringComparison.Ordinal)));
        }

        Assert.Equal([new("alice", 1), new("carol", 1)], await b.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task ANodeTakenForDeadWritesItsPresenceAgain()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        a.Handler.SetPresence(room, "alice", 1);
        b.Handler.SetPresence(room, "bob", 2);
        foreach (var node in new[] { a, b })
        {
            await node.Broker.SubscribeRoomAsync(room, Timeout());
            await node.Broker.PublishPresenceAsync(room, Joined(room, "any"), Timeout());
        }

        // As if b had stalled past the timeout: its liveness ended, and a survivor may clean up after it
        // before b's next heartbeat (or b may beat first: the end state is the same).
        var stalled = (RedisBroker)b.Broker;
        Assert.Equal(":0", await _redis.CommandAsync("ZADD", NodeIndex, "0", stalled.NodeId));

        await Eventually.TrueAsync(() => IsLiveAsync(stalled.NodeId), "b renewed its liveness");
        await Eventually.TrueAsync(async () => (await a.Broker.PresenceAsync(room, Timeout())).SequenceEqual([new("alice", 1), new("bob", 2)]), "b's users are back in presence");
        Assert.Equal(":1", await _redis.CommandAsync("SISMEMBER", $"sb:{{{room}}}:members", stalled.NodeId));
        Assert.Equal(":1", await _redis.CommandAsync("SISMEMBER", $"sb:{{#nodes}}:rooms:{stalled.NodeId}", room));
    }

    [Fact]
    public async Task CleaningUpAfterANodeThatRenewedItsLivenessKeyMeanwhileLeavesItsEntries()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        b.Handler.SetPresence(room, "bob", 1);
        await b.Broker.SubscribeRoomAsync(room, Timeout());
        await b.Broker.PublishPresenceAsync(room, Joined(room, "bob"), Timeout());

        // The race, made to happen: a beat found b dead, then b renewed its key before the clean-up ran.
        var survivor = (RedisBroker)a.Broker;
        var alive = ((RedisBroker)b.Broker).NodeId;
        var result = (RedisResult[])(await survivor.EvalAsync(survivor.Home, LuaScripts.ReapTake, [survivor.Keys.NodeIndex, survivor.Keys.NodeRooms(alive)], [alive, 256], Timeout()))!;

        Assert.Equal([0L], result.Select(r => (long)r));
        Assert.Equal(":1", await _redis.CommandAsync("SISMEMBER", $"sb:{{#nodes}}:rooms:{alive}", room));
        Assert.Equal([new("bob", 1)], await a.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task IdleRoomsCostNoRedisCommandsPerInterval()
    {
        const int rooms = 1000;
        var nodes = new[] { await StartAsync(), await StartAsync() };
        var names = Enumerable.Range(0, rooms).Select(i => $"idle-{i}-{Guid.NewGuid():N}"[..20]).ToArray();
        foreach (var node in nodes)
        {
            foreach (var room in names)
            {
                node.Handler.SetPresence(room, "user-" + room, 1);
            }

            foreach (var batch in names.Chunk(100))
            {
                await Task.WhenAll(batch.Select(room => node.Broker.SubscribeRoomAsync(room, Timeout()).AsTask()));
            }
        }

        // Every node's presence is written by the beat after its rooms were joined.
        await Eventually.TrueAsync(async () => await _redis.CommandAsync("SCARD", $"sb:{{{names[^1]}}}:members") == ":2", "the presence of both nodes was written", TimeSpan.FromSeconds(20));
        await WaitForBeatsAsync(nodes, 2);

        var beatsBefore = nodes.Sum(n => ((RedisBroker)n.Broker).Beats);
        var before = await CommandCallsAsync();
        await WaitForBeatsAsync(nodes, 2);
        var after = await CommandCallsAsync();
        var beats = nodes.Sum(n => ((RedisBroker)n.Broker).Beats) - beatsBefore;

        var calls = after.Sum(p => p.Value - before.GetValueOrDefault(p.Key));
        var detail = string.Join(", ", after.Where(p => p.Value != before.GetValueOrDefault(p.Key)).Select(p => $"{p.Key} {p.Value - before.GetValueOrDefault(p.Key)}"));
        // One beat is one script of about ten commands, whatever the rooms; the slack covers a beat
        // in flight per node, the INFO calls and the client's own keep-alive.
        Assert.True(calls <= 12 * (beats + nodes.Length) + 10, $"{calls} calls over {beats} beats of {nodes.Length} nodes with {rooms} idle rooms each: {detail}");
    }

    private static async Task WaitForBeatsAsync(BrokerNode[] nodes, int count)
    {
        var targets = nodes.Select(n => ((RedisBroker)n.Broker).Beats + count).ToArray();
        await Eventually.TrueAsync(() => nodes.Select((n, i) => ((RedisBroker)n.Broker).Beats >= targets[i]).All(x => x), $"{count} more heartbeats", TimeSpan.FromSeconds(20));
    }

    /// <summary>Calls per command from <c>INFO commandstats</c> (scripts count once, and so does every command they run).</summary>
    private async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var info = await _redis.BulkCommandAsync("INFO", "commandstats");
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("cmdstat_", StringComparison.Ordinal)))
        {
            var name = line[..line.IndexOf(':', StringComparison.Ordinal)];
            var value = line.Split(':', 2)[1].Split(',')[0];
            calls[name] = long.Parse(value["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return calls;
    }

    [Fact]
    public async Task DirectMessagesReachTheUserOnEveryNodeOnce()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        await a.Broker.SubscribeUserAsync(user, Timeout());
        await b.Broker.SubscribeUserAsync(user, Timeout());
        await a.Broker.SendToUserAsync(user, OutboundFrame.Text("{\"n\":1}"u8.ToArray()), Timeout());
        await b.Broker.SendToUserAsync(user, OutboundFrame.Text("{\"n\":2}"u8.ToArray()), Timeout());

        foreach (var node in new[] { a, b })
        {
            await Eventually.TrueAsync(() => node.Handler.Directs(user).Length == 2, $"both direct messages arrived (node a has {a.Handler.Directs(user).Length}, node b {b.Handler.Directs(user).Length})");
        }

        await b.Broker.UnsubscribeUserAsync(user, Timeout());
        await a.Broker.SendToUserAsync(user, OutboundFrame.Text("{\"n\":3}"u8.ToArray()), Timeout());
        await Eventually.TrueAsync(() => a.Handler.Directs(user).Length == 3, "the third arrived where the user still is");
        Assert.Equal(2, b.Handler.Directs(user).Length);
    }

    [Fact]
    public async Task WhileRedisIsDownTheBrokerSaysSoAndAfterwardsCatchesUpWhatItMissed()
    {
        var (a, b) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await a.Broker.SubscribeRoomAsync(room, Timeout());
        await Publish(b, room, "1");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length == 1, "the first publication arrived");

        await _redis.KillAsync();
        await Eventually.TrueAsync(() => a.Broker.Unavailable is not null, "the broker noticed");
        await Assert.ThrowsAsync<BrokerUnavailableException>(() => Publish(b, room, "lost?"));
        await Assert.ThrowsAsync<BrokerUnavailableException>(() => Read(a, room));

        await _redis.RestartAsync();
        // Published as soon as Redis answers, before node a has resubscribed: only its catch-up can deliver it.
        await PublishRawAsync(room, "2, while node a was away");
        await Eventually.TrueAsync(() => a.Broker.Unavailable is null && b.Broker.Unavailable is null, "both nodes reconnected");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length >= 2, "node a caught up");
        await Publish(b, room, "3");
        await Eventually.TrueAsync(() => a.Handler.Offsets(room).Length >= 3, "live delivery resumed");
        Assert.Equal([1UL, 2UL, 3UL], a.Handler.Offsets(room));
        Assert.Equal(0, a.Handler.StreamLosses(room));
    }

    private async Task<BrokerNode> StartAsync(int historySize = 100, double interval = RedisNodes.PresenceIntervalSeconds, double timeout = RedisNodes.PresenceTimeoutSeconds)
    {
        var handler = new RecordingHandler();
        var broker = await RedisNodes.StartBrokerAsync(_redis, handler, historySize, presenceIntervalSeconds: interval, presenceTimeoutSeconds: timeout);
        _brokers.Add(broker);
        return new BrokerNode(broker, handler);
    }

    /// <summary>Runs the publish script with a channel nobody subscribes to: in the stream, never announced, as a message pub/sub dropped.</summary>
    private static async Task PublishUnheardAsync(BrokerNode node, string room, string text)
    {
        var broker = (RedisBroker)node.Broker;
        await broker.EvalAsync(broker.ShardOfRoom(room), LuaScripts.Publish, broker.Keys.PublishKeys(room),
            ["nobody-listens", "0123456789abcdef", 100, 300_000, 301_000, "t", "tester", Encoding.UTF8.GetBytes(text), string.Empty, "p"], Timeout());
        // As the broker does beside every publication: the room is worth a loss probe.
        await broker.EvalAsync(broker.Home, LuaScripts.MarkActive, [broker.Keys.Active], [room, 10_000], Timeout());
    }

    /// <summary>Publishes through a connection of its own, retrying until Redis accepts, the moment it is back.</summary>
    private async Task PublishRawAsync(string room, string text)
    {
        var keys = new RedisKeys("sb");
        var deadline = DateTime.UtcNow + Deadline;
        using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration + ",abortConnect=false");
        while (true)
        {
            try
            {
                await redis.GetDatabase().ScriptEvaluateAsync(LuaScripts.Publish, keys.PublishKeys(room),
                    [keys.RoomChannelName(room), "0123456789abcdef", 100, 300_000, 301_000, "t", "tester", Encoding.UTF8.GetBytes(text), string.Empty, "p"]).WaitAsync(Deadline);
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                // Polling interval while the connection comes up.
                await Task.Delay(10);
            }
        }
    }

    /// <summary>Whether the node's liveness (its score in the node index) has not ended, by Redis's clock.</summary>
    private async Task<bool> IsLiveAsync(string node) => await _redis.CommandAsync("EVAL", LuaScripts.LiveNodes, "1", NodeIndex, node) == "*1";

    private static OutboundFrame Joined(string room, string user) => OutboundFrame.Text(ServerMessages.PresenceChange(joined: true, room, user));

    private static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..12];

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    private static async Task<StreamPosition> Publish(BrokerNode node, string room, string text) =>
        await node.Broker.PublishAsync(room, "tester", Encoding.UTF8.GetBytes(text), isBinary: false, Timeout());

    private static async Task<StreamRead> Read(BrokerNode node, string room) => await node.Broker.ReadStreamAsync(room, null, 10, Timeout());
}
