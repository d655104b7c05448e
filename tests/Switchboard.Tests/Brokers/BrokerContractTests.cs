using System.Text;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// The broker contract, one spec for every broker: run against the in-memory broker
/// (<see cref="MemoryBrokerContractTests"/>) and against Redis (<see cref="RedisBrokerContractTests"/>).
/// Each test uses its own room names, so a broker implementation may share its backing store.
/// </summary>
public abstract class BrokerContractTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>Starts a broker with the given history settings, attached to a fresh recording node.</summary>
    protected abstract Task<BrokerNode> StartNodeAsync(int historySize = 100, double historyTtlSeconds = 300);

    /// <summary>Moves the broker's clock past <paramref name="age"/> where it can (a real Redis keeps real time).</summary>
    protected abstract void Age(BrokerNode node, TimeSpan age);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static string NewRoom() => "room-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task PublicationsTakeConsecutiveOffsetsFromOneWithinOneEpoch()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        var positions = new List<StreamPosition>();
        for (var i = 0; i < 3; i++)
        {
            positions.Add(await Publish(node, room, $"{i}"));
        }

        Assert.Equal([1UL, 2UL, 3UL], positions.Select(p => p.Offset));
        Assert.Single(positions.Select(p => p.Epoch).Distinct());
        var read = await Read(node, room, null, 10);
        Assert.Equal(positions[2], read.Top);
    }

    [Fact]
    public async Task ASubscribedNodeReceivesEveryPublicationOnceInOffsetOrder()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        const int publishers = 4, each = 50;
        await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < each; i++)
            {
                await Publish(node, room, $"{p}-{i}");
            }
        }))).WaitAsync(Deadline);

        await Eventually.TrueAsync(() => node.Handler.Offsets(room).Length >= publishers * each, "every publication was delivered");
        Assert.Equal(Enumerable.Range(1, publishers * each).Select(i => (ulong)i), node.Handler.Offsets(room));
    }

    [Fact]
    public async Task AJoinerReadsThePastThenReceivesEveryLaterOffset()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await Publish(node, room, "before");
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        var read = await Read(node, room, null, 100);
        Assert.Equal(1UL, read.Top.Offset);
        await Publish(node, room, "after");
        await Eventually.TrueAsync(() => node.Handler.Offsets(room).Contains(2UL), "the later publication was delivered");
        Assert.DoesNotContain(node.Handler.Offsets(room), o => o > 2);
    }

    [Fact]
    public async Task ReadingWithoutSinceReturnsTheLatestOldestFirst()
    {
        var node = await StartNodeAsync(historySize: 5);
        var room = NewRoom();
        for (var i = 1; i <= 8; i++)
        {
            await Publish(node, room, $"{i}");
        }

        var read = await Read(node, room, null, 3);
        Assert.Null(read.Recovered);
        Assert.Equal(8UL, read.Top.Offset);
        Assert.Equal([6UL, 7UL, 8UL], read.Publications.Select(p => p.Offset));
        Assert.Equal(["6", "7", "8"], read.Publications.Select(p => Encoding.UTF8.GetString(p.Payload.Span)));
    }

    [Fact]
    public async Task ReadingSinceAPositionReturnsWhatFollowedAndRecovers()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        var first = await Publish(node, room, "1");
        for (var i = 2; i <= 4; i++)
        {
            await Publish(node, room, $"{i}");
        }

        var read = await Read(node, room, first, 100);
        Assert.True(read.Recovered);
        Assert.Equal([2UL, 3UL, 4UL], read.Publications.Select(p => p.Offset));
        Assert.Equal(4UL, read.Top.Offset);
    }

    [Fact]
    public async Task ReadingSinceTheTopRecoversWithNothingMissing()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        var top = await Publish(node, room, "1");
        var read = await Read(node, room, top, 100);
        Assert.True(read.Recovered);
        Assert.Empty(read.Publications);
    }

    [Fact]
    public async Task ReadingSinceAnotherEpochDoesNotRecoverAndReturnsTheLatest()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await Publish(node, room, "1");
        await Publish(node, room, "2");
        var read = await Read(node, room, new StreamPosition(1, "0000000000000000"), 100);
        Assert.False(read.Recovered);
        Assert.Equal([1UL, 2UL], read.Publications.Select(p => p.Offset));
    }

    [Fact]
    public async Task ReadingSinceAPositionBeyondTheTopDoesNotRecover()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        var top = await Publish(node, room, "1");
        var read = await Read(node, room, top with { Offset = 7 }, 100);
        Assert.False(read.Recovered);
    }

    [Fact]
    public async Task ReadingSinceAPositionOlderThanTheRetainedHistoryDoesNotRecover()
    {
        var node = await StartNodeAsync(historySize: 3);
        var room = NewRoom();
        var first = await Publish(node, room, "1");
        for (var i = 2; i <= 6; i++)
        {
            await Publish(node, room, $"{i}");
        }

        var read = await Read(node, room, first, 3);
        Assert.False(read.Recovered);
        Assert.Equal([4UL, 5UL, 6UL], read.Publications.Select(p => p.Offset));
    }

    [Fact]
    public async Task PublicationsOlderThanTheHistoryTtlAreNotRecovered()
    {
        var ttl = TimeSpan.FromSeconds(1);
        var node = await StartNodeAsync(historyTtlSeconds: ttl.TotalSeconds);
        var room = NewRoom();
        var start = await Read(node, room, null, 10);
        await Publish(node, room, "old");
        Age(node, ttl * 2);
        var deadline = DateTime.UtcNow + Deadline;
        StreamRead read;
        while ((read = await Read(node, room, start.Top, 10)).Recovered != false)
        {
            Assert.True(DateTime.UtcNow < deadline, "the publication outlived its TTL");
            // Polling interval while Redis's clock passes the TTL.
            await Task.Delay(50);
        }

        Assert.Empty(read.Publications);
    }

    [Fact]
    public async Task BinaryPayloadsAndSendersRoundTripLiveAndThroughHistory()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await node.Broker.PublishAsync(room, null, bytes, isBinary: true, Timeout());
        await node.Broker.PublishAsync(room, "alice", "{\"a\":\"b c\"}"u8.ToArray(), isBinary: false, Timeout());
        await Eventually.TrueAsync(() => node.Handler.Offsets(room).Length == 2, "both were delivered");

        var history = await Read(node, room, null, 10);
        foreach (var publications in new[] { node.Handler.Publications(room), history.Publications.ToArray() })
        {
            Assert.True(publications[0].IsBinary);
            Assert.Null(publications[0].From);
            Assert.Equal(bytes, publications[0].Payload.ToArray());
            Assert.False(publications[1].IsBinary);
            Assert.Equal("alice", publications[1].From);
            Assert.Equal("{\"a\":\"b c\"}", Encoding.UTF8.GetString(publications[1].Payload.Span));
        }
    }

    [Fact]
    public async Task ADirectMessageReachesTheNodeOfItsUser()
    {
        var node = await StartNodeAsync();
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        await node.Broker.SubscribeUserAsync(user, Timeout());
        await node.Broker.SendToUserAsync(user, OutboundFrame.Text("{\"op\":\"direct\"}"u8.ToArray()), Timeout());
        await Eventually.TrueAsync(() => node.Handler.Directs(user).Length == 1, "the direct message arrived");
        await node.Broker.UnsubscribeUserAsync(user, Timeout());
    }

    [Fact]
    public async Task APresenceEventReachesTheRoomsMembers()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        node.Handler.SetPresence(room, "alice", 1);
        await node.Broker.PublishPresenceAsync(room, OutboundFrame.Text(ServerMessages.PresenceChange(joined: true, room, "alice")), Timeout());
        await Eventually.TrueAsync(() => node.Handler.PresenceChanges(room).Length == 1, "the joined event arrived");
        Assert.Contains("\"joined\"", node.Handler.PresenceChanges(room)[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task PresenceListsThisNodesUsersWithTheirConnections()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        node.Handler.SetPresence(room, "bob", 2);
        node.Handler.SetPresence(room, "alice", 1);
        var users = await node.Broker.PresenceAsync(room, Timeout());
        Assert.Equal([new("alice", 1), new("bob", 2)], users);
    }

    [Fact]
    public async Task AHealthyBrokerIsAvailable()
    {
        var node = await StartNodeAsync();
        Assert.Null(node.Broker.Unavailable);
    }

    [Fact]
    public async Task AfterTheLastInterestIsWithdrawnTheRoomCanBeJoinedAgain()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        await node.Broker.UnsubscribeRoomAsync(room, Timeout());
        await Publish(node, room, "while away");
        await node.Broker.SubscribeRoomAsync(room, Timeout());
        var read = await Read(node, room, null, 10);
        await Publish(node, room, "back");
        await Eventually.TrueAsync(() => node.Handler.Offsets(room).Contains(read.Top.Offset + 1), "the publication after the rejoin was delivered");
    }

    [Fact]
    public async Task ARepeatedIdempotencyKeyAppendsNothingAndAnswersWithTheFirstPosition()
    {
        var node = await StartNodeAsync();
        var room = NewRoom();
        await node.Broker.SubscribeRoomAsync(room, Timeout());

        var first = await Publish(node, room, "once", "order-17");
        var retry = await Publish(node, room, "once, retried", "order-17");
        var next = await Publish(node, room, "another", "order-18");

        Assert.Equal(first, retry);
        Assert.Equal(first.Offset + 1, next.Offset);
        var read = await Read(node, room, null, 10);
        Assert.Equal(["once", "another"], read.Publications.Select(p => Encoding.UTF8.GetString(p.Payload.Span)));
        await Eventually.TrueAsync(() => node.Handler.Offsets(room).Length >= 2, "both publications were delivered");
        Assert.Equal([first.Offset, next.Offset], node.Handler.Offsets(room));
    }

    [Fact]
    public async Task AnIdempotencyKeyBelongsToItsRoom()
    {
        var node = await StartNodeAsync();
        var (room, other) = (NewRoom(), NewRoom());

        await Publish(node, room, "here", "same-key");
        var there = await Publish(node, other, "there", "same-key");

        Assert.Equal(1UL, there.Offset);
        Assert.Single((await Read(node, other, null, 10)).Publications);
    }

    protected static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    protected static async Task<StreamPosition> Publish(BrokerNode node, string room, string text, string idempotencyKey) =>
        await node.Broker.PublishAsync(room, "tester", Encoding.UTF8.GetBytes(text), isBinary: false, idempotencyKey, Timeout());

    protected static async Task<StreamPosition> Publish(BrokerNode node, string room, string text) =>
        await node.Broker.PublishAsync(room, "tester", Encoding.UTF8.GetBytes(text), isBinary: false, Timeout());

    protected static async Task<StreamRead> Read(BrokerNode node, string room, StreamPosition? since, int limit) =>
        await node.Broker.ReadStreamAsync(room, since, limit, Timeout());
}
