using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// <c>joined</c>/<c>left</c> decided across nodes, at the broker: a user is announced once whatever
/// nodes it is on, when two nodes race, and again after a partition a survivor cleaned up after. Run
/// on one server (<see cref="SingleRedisCrossNodePresenceTests"/>), two standalone shards
/// (<see cref="ShardedRedisCrossNodePresenceTests"/>) and a three-master Redis Cluster
/// (<see cref="ClusterRedisCrossNodePresenceTests"/>). Each test uses its own room.
/// </summary>
public abstract class CrossNodePresenceTests(RedisTopology redis) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly List<RedisBroker> _brokers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            // Release held heartbeats first: disposing awaits the heartbeat loop.
            broker.ReleaseBeats();
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoNodesRacingToAddTheSameUserAnnounceItOnce()
    {
        var (a, b, watcher) = (await StartAsync(), await StartAsync(), await StartAsync());
        var room = NewRoom();
        await watcher.Broker.SubscribeRoomAsync(room, Timeout());
        foreach (var node in new[] { a, b })
        {
            node.Handler.SetPresence(room, "alice", 1);
            await node.Broker.SubscribeRoomAsync(room, Timeout());
        }

        // The interleaving of the race, set up step by step: both nodes' entries hold alice before
        // either announces her, so each node alone sees her as its first connection.
        foreach (var node in new[] { a, b })
        {
            await ((RedisBroker)node.Broker).FeedOf(room)!.Presence.RequestAsync().WaitAsync(Deadline);
        }

        await Task.WhenAll(
            a.Broker.AnnouncePresenceAsync(room, "alice", joined: true, Frame(room, "alice", joined: true), Timeout()).AsTask(),
            b.Broker.AnnouncePresenceAsync(room, "alice", joined: true, Frame(room, "alice", joined: true), Timeout()).AsTask());

        // Published after both announcements ran: the watcher hears it after anything they sent.
        await a.Broker.PublishPresenceAsync(room, Frame(room, "marker", joined: true), Timeout());
        await Eventually.TrueAsync(() => watcher.Handler.PresenceChanges(room).Contains(Event(room, "marker", joined: true)), "the marker arrived");
        Assert.Equal([Event(room, "alice", joined: true), Event(room, "marker", joined: true)], watcher.Handler.PresenceChanges(room));
        foreach (var node in new[] { a, b })
        {
            // The winner delivered its event itself; the other heard it on the room channel.
            await Eventually.TrueAsync(() => node.Handler.PresenceChanges(room).Contains(Event(room, "alice", joined: true)), "both nodes had the event");
            Assert.Single(node.Handler.PresenceChanges(room), e => e == Event(room, "alice", joined: true));
        }
    }

    [Fact]
    public async Task AUserOnTwoNodesLeavesOnlyWithItsLastConnectionAnywhere()
    {
        var (a, b, watcher) = (await StartAsync(), await StartAsync(), await StartAsync());
        var room = NewRoom();
        await watcher.Broker.SubscribeRoomAsync(room, Timeout());
        foreach (var node in new[] { a, b })
        {
            await node.Broker.SubscribeRoomAsync(room, Timeout());
            node.Handler.SetPresence(room, "alice", 1);
            await node.Broker.AnnouncePresenceAsync(room, "alice", joined: true, Frame(room, "alice", joined: true), Timeout());
        }

        // As the hub leaves: the entry goes with the node's last member, then the user's left is announced.
        a.Handler.SetPresence(room, "alice", 0);
        await a.Broker.UnsubscribeRoomAsync(room, Timeout());
        await a.Broker.AnnouncePresenceAsync(room, "alice", joined: false, Frame(room, "alice", joined: false), Timeout());
        await a.Broker.PublishPresenceAsync(room, Frame(room, "marker", joined: true), Timeout());
        await Eventually.TrueAsync(() => watcher.Handler.PresenceChanges(room).Contains(Event(room, "marker", joined: true)), "the marker arrived");
        Assert.Equal([Event(room, "alice", joined: true), Event(room, "marker", joined: true)], watcher.Handler.PresenceChanges(room));
        Assert.Equal([new("alice", 1)], await watcher.Broker.PresenceAsync(room, Timeout()));

        b.Handler.SetPresence(room, "alice", 0);
        await b.Broker.UnsubscribeRoomAsync(room, Timeout());
        await b.Broker.AnnouncePresenceAsync(room, "alice", joined: false, Frame(room, "alice", joined: false), Timeout());
        await Eventually.TrueAsync(() => watcher.Handler.PresenceChanges(room).Length == 3, "alice's left arrived");
        Assert.Equal(Event(room, "alice", joined: false), watcher.Handler.PresenceChanges(room)[2]);
        Assert.Empty(await watcher.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task ALeaveThatReachesTheWriterAfterItRemovedTheNodesEntryIsStillAnnounced()
    {
        var (node, watcher) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        await watcher.Broker.SubscribeRoomAsync(room, Timeout());
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        node.Handler.SetPresence(room, "alice", 1);
        await node.Broker.AnnouncePresenceAsync(room, "alice", joined: true, Frame(room, "alice", joined: true), Timeout());

        // The interleaving set up step by step: the room's last member left and its unsubscribe closed
        // the writer (removing the entry) while the feed was still listed, then alice's left came.
        node.Handler.SetPresence(room, "alice", 0);
        var writer = ((RedisBroker)node.Broker).FeedOf(room)!.Presence;
        await writer.CloseAndRemoveAsync().WaitAsync(Deadline);
        await writer.RequestAsync(announce: new PresenceChange("alice", Joined: false)).WaitAsync(Deadline);

        await Eventually.TrueAsync(() => watcher.Handler.PresenceChanges(room).Length == 2, "alice's left arrived");
        Assert.Equal([Event(room, "alice", joined: true), Event(room, "alice", joined: false)], watcher.Handler.PresenceChanges(room));
        Assert.Empty(await watcher.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task ALeaveIsAnnouncedWhenTheNodeLeftTheRoomWhileItsWriteWaitedToRunAgain()
    {
        var (node, other, watcher) = (await StartAsync(), await StartAsync(), await StartAsync());
        var room = NewRoom();
        await watcher.Broker.SubscribeRoomAsync(room, Timeout());
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        node.Handler.SetPresence(room, "alice", 1);
        await node.Broker.AnnouncePresenceAsync(room, "alice", joined: true, Frame(room, "alice", joined: true), Timeout());
        // Another node enters the room after the node's last write: the node's next write that decides
        // anything names too few member nodes, and the script sends it back to be run again.
        await other.Broker.SubscribeRoomAsync(room, Timeout());
        other.Handler.SetPresence(room, "bob", 1);
        await other.Broker.AnnouncePresenceAsync(room, "bob", joined: true, Frame(room, "bob", joined: true), Timeout());

        // The interleaving set up step by step: a rewrite with heal (a heartbeat's, after the node was
        // taken for dead) is taken while alice is still here and sent back; alice's last connection
        // leaves, the room's unsubscribe removes the node's entry; only then does the rewrite run again.
        var broker = (RedisBroker)node.Broker;
        var held = broker.HoldPresenceRetriesAsync();
        var writer = broker.FeedOf(room)!.Presence;
        var rewrite = writer.RequestAsync(full: true, heal: true);
        await held.WaitAsync(Deadline);
        node.Handler.SetPresence(room, "alice", 0);
        await writer.CloseAndRemoveAsync().WaitAsync(Deadline);
        broker.ReleasePresenceRetries();
        await rewrite.WaitAsync(Deadline);
        await writer.RequestAsync(announce: new PresenceChange("alice", Joined: false)).WaitAsync(Deadline);

        // Published after the decision ran: the watcher hears it after anything the decision sent.
        await other.Broker.PublishPresenceAsync(room, Frame(room, "marker", joined: true), Timeout());
        await Eventually.TrueAsync(() => watcher.Handler.PresenceChanges(room).Contains(Event(room, "marker", joined: true)), "the marker arrived");
        Assert.Equal([Event(room, "alice", joined: true), Event(room, "bob", joined: true), Event(room, "alice", joined: false), Event(room, "marker", joined: true)],
            watcher.Handler.PresenceChanges(room));
        Assert.Equal([new("bob", 1)], await watcher.Broker.PresenceAsync(room, Timeout()));
    }

    [Fact]
    public async Task UsersOfANodeCutOffPastTheTimeoutLeaveAndAreAnnouncedAgainWhenItComesBack()
    {
        var (survivor, stalled) = (await StartAsync(), await StartAsync());
        var room = NewRoom();
        survivor.Handler.SetPresence(room, "alice", 1);
        stalled.Handler.SetPresence(room, "bob", 2);
        foreach (var (node, user) in new[] { (survivor, "alice"), (stalled, "bob") })
        {
            await node.Broker.SubscribeRoomAsync(room, Timeout());
            await node.Broker.AnnouncePresenceAsync(room, user, joined: true, Frame(room, user, joined: true), Timeout());
        }

        await Eventually.TrueAsync(() => survivor.Handler.PresenceChanges(room).Length == 2, "bob's joined arrived");
        Assert.Equal([new("alice", 1), new("bob", 2)], await survivor.Broker.PresenceAsync(room, Timeout()));

        // The stalled node's liveness runs out; the survivor finds it dead, removes its entries and
        // says bob left. (The wait is the presence timeout, by Redis's clock, plus a heartbeat.)
        var broker = (RedisBroker)stalled.Broker;
        await broker.HoldBeatsAsync().WaitAsync(Deadline);
        var bobLeft = Event(room, "bob", joined: false);
        await Eventually.TrueAsync(() => survivor.Handler.PresenceChanges(room).Contains(bobLeft), "the survivor said bob left",
            TimeSpan.FromSeconds(RedisNodes.PresenceTimeoutSeconds + 10));
        Assert.Equal([new("alice", 1)], await survivor.Broker.PresenceAsync(room, Timeout()));
        // The stalled node's commands other than its beats go on: it hears the left, before it comes back.
        await Eventually.TrueAsync(() => stalled.Handler.PresenceChanges(room).Contains(bobLeft), "the stalled node heard that bob left");

        // Back: its next beat finds its liveness ended, rewrites its entries and announces bob again.
        broker.ReleaseBeats();
        var bobJoined = Event(room, "bob", joined: true);
        await Eventually.TrueAsync(() => survivor.Handler.PresenceChanges(room).Count(e => e == bobJoined) == 2, "bob was announced again");
        Assert.Equal([new("alice", 1), new("bob", 2)], await survivor.Broker.PresenceAsync(room, Timeout()));
        Assert.Equal([new("alice", 1), new("bob", 2)], await stalled.Broker.PresenceAsync(room, Timeout()));

        // The rewrite is made twice (a clean-up may have taken the room just before the first): the
        // second announces nothing more. A marker sent after it shows what came before.
        var beats = broker.Beats;
        await Eventually.TrueAsync(() => broker.Beats >= beats + 2, "two more beats ran");
        await survivor.Broker.PublishPresenceAsync(room, Frame(room, "marker", joined: true), Timeout());
        await Eventually.TrueAsync(() => stalled.Handler.PresenceChanges(room).Contains(Event(room, "marker", joined: true)), "the marker arrived");
        Assert.Equal([Event(room, "bob", joined: true), bobLeft, bobJoined, Event(room, "marker", joined: true)],
            stalled.Handler.PresenceChanges(room).Where(e => !e.Contains("alice", StringComparison.Ordinal)));
    }

    private async Task<BrokerNode> StartAsync()
    {
        var handler = new RecordingHandler();
        var broker = await RedisNodes.StartBrokerAsync(redis.Shards, handler);
        _brokers.Add(broker);
        return new BrokerNode(broker, handler);
    }

    private static OutboundFrame Frame(string room, string user, bool joined) => OutboundFrame.Text(ServerMessages.PresenceChange(joined, room, user));

    private static string Event(string room, string user, bool joined) => System.Text.Encoding.UTF8.GetString(ServerMessages.PresenceChange(joined, room, user));

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    private static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..12];
}
