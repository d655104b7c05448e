using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// The room coordinator, driven step by step through a broker whose subscribe, unsubscribe and reads
/// the test holds and releases: one broker subscription per room, every joiner reading only after
/// it is ready, and the room gone once its last member left.
/// </summary>
[Trait("Category", "unit")]
public sealed class RoomCoordinationTests
{
    [Fact]
    public async Task ASecondJoinerWaitsForTheRoomsSubscriptionBeforeReadingTheStream()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker);
        var (alice, _) = node.Open("alice");
        var (bob, _) = node.Open("bob");
        broker.SubscribeGate.Close();

        var first = node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => broker.SubscribeGate.Waiting == 1, "the first joiner subscribes the room");
        var second = node.Hub.JoinAsync(bob, "lobby", null, true, default, CancellationToken.None).AsTask();

        // Until the subscription exists, a read could miss offsets published before it: nobody reads.
        Assert.False(second.IsCompleted);
        Assert.Equal(["subscribe lobby"], broker.Calls);

        broker.SubscribeGate.Open();
        Assert.Null(await first.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(await second.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(["subscribe lobby", "read lobby", "read lobby"], broker.Calls);
    }

    [Fact]
    public async Task ARoomLetsGoOfItsSubscribeOnceItsJoinerSawItSucceedAndStillRetiresAfterTheLastLeave()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker);
        var room = new LocalRoom("lobby", broker, _ => { }, new PresenceCoalescer("lobby", broker, 10, 10, TimeProvider.System));
        var alice = new RoomSubscription(node.Open("alice").Session, "lobby", maxHeld: 16);
        var bob = new RoomSubscription(node.Open("bob").Session, "lobby", maxHeld: 16);
        broker.SubscribeGate.Close();

        var subscribed = room.TryAdd(alice, out _)!;
        Assert.False(subscribed.IsCompleted);
        broker.SubscribeGate.Open();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(5));
        room.Settle(subscribed);

        // The next joiner is handed the shared completed task: the room kept no task of its own.
        Assert.Same(Task.CompletedTask, room.TryAdd(bob, out _));

        Assert.True(await room.RemoveAsync(alice).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        await room.RemoveAsync(bob).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["subscribe lobby", "unsubscribe lobby"], broker.Calls);
        // Retired: a join now finds it gone and must fetch a fresh room.
        Assert.Null(room.TryAdd(alice, out _));
    }

    [Fact]
    public async Task ManyFirstJoinersSubscribeOnceAndTheLastLeaverUnsubscribesOnce()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker);
        var sessions = Enumerable.Range(0, 50).Select(i => node.Open("u" + i).Session).ToArray();
        broker.SubscribeGate.Close();

        var joins = sessions.Select(s => Task.Run(() => node.Hub.JoinAsync(s, "lobby", null, true, default, CancellationToken.None).AsTask())).ToArray();
        await Eventually.TrueAsync(() => broker.SubscribeGate.Waiting == 1, "one subscribe is under way");
        broker.SubscribeGate.Open();
        await Task.WhenAll(joins).WaitAsync(TimeSpan.FromSeconds(10));

        await Task.WhenAll(sessions.Select(s => Task.Run(() => node.Hub.LeaveAsync(s, "lobby", CancellationToken.None).AsTask()))).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, broker.Count("subscribe lobby"));
        Assert.Equal(1, broker.Count("unsubscribe lobby"));
        Assert.Equal(0, node.Hub.RoomCount);
    }

    [Fact]
    public async Task AJoinDuringTheLastLeaversUnsubscribeResubscribesOnlyAfterIt()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker);
        var (alice, _) = node.Open("alice");
        var (bob, _) = node.Open("bob");
        await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None);
        broker.UnsubscribeGate.Close();

        var leave = node.Hub.LeaveAsync(alice, "lobby", CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => broker.UnsubscribeGate.Waiting == 1, "the last leaver unsubscribes");
        var join = node.Hub.JoinAsync(bob, "lobby", null, true, default, CancellationToken.None).AsTask();

        // The broker never sees a subscribe overtake the unsubscribe still under way.
        Assert.False(join.IsCompleted);
        Assert.Equal(["subscribe lobby", "read lobby", "unsubscribe lobby"], broker.Calls);

        broker.UnsubscribeGate.Open();
        await Task.WhenAll(leave, join).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["subscribe lobby", "read lobby", "unsubscribe lobby", "subscribe lobby", "read lobby"], broker.Calls);
        // The room outlived the unsubscribe because somebody came back: it is still served.
        Assert.Equal(1, node.Hub.RoomCount);
        broker.Deliver("lobby", 1);
        Assert.Equal(1UL, bob.Rooms["lobby"].LastOffset);
    }

    [Fact]
    public async Task AFailedSubscribeLeavesNothingBehindAndTheNextJoinSubscribesAgain()
    {
        var broker = new FailingOnceBroker();
        await using var node = new InProcessNode(broker);
        var (alice, _) = node.Open("alice");

        await Assert.ThrowsAsync<BrokerUnavailableException>(() => node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None).AsTask());
        Assert.Empty(alice.Rooms);
        Assert.Equal(0, node.Hub.RoomCount);

        Assert.Null(await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None));
        Assert.Equal(["subscribe lobby", "unsubscribe lobby", "subscribe lobby", "read lobby"], broker.Inner.Calls);
    }

    /// <summary>Fails its first subscribe, as a broker that lost its server would.</summary>
    private sealed class FailingOnceBroker : IBroker
    {
        private int _subscribes;

        public ScriptedBroker Inner { get; } = new();

        public string? Unavailable => null;

        public void Attach(IBrokerHandler handler) => Inner.Attach(handler);

        public async ValueTask SubscribeRoomAsync(string room, CancellationToken cancellationToken)
        {
            await Inner.SubscribeRoomAsync(room, cancellationToken);
            if (Interlocked.Increment(ref _subscribes) == 1)
            {
                throw new BrokerUnavailableException("test: the broker is down");
            }
        }

        public ValueTask UnsubscribeRoomAsync(string room, CancellationToken cancellationToken) => Inner.UnsubscribeRoomAsync(room, cancellationToken);

        public ValueTask<StreamRead> ReadStreamAsync(string room, StreamPosition? since, int limit, CancellationToken cancellationToken) => Inner.ReadStreamAsync(room, since, limit, cancellationToken);

        public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken) => Inner.PublishAsync(room, from, payload, isBinary, idempotencyKey, cancellationToken);

        public ValueTask PublishPresenceAsync(string room, Connections.OutboundFrame frame, CancellationToken cancellationToken) => Inner.PublishPresenceAsync(room, frame, cancellationToken);

        public ValueTask SendToUserAsync(string user, Connections.OutboundFrame frame, CancellationToken cancellationToken) => Inner.SendToUserAsync(user, frame, cancellationToken);

        public ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken) => Inner.PresenceAsync(room, cancellationToken);

        public ValueTask SubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask UnsubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
