using System.Text;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// The ordering StackExchange.Redis 3.x no longer gives for free: messages without offsets (presence
/// events, direct messages) keep their order across nodes, and a room whose fan-out is stuck holds up
/// neither the Redis reader nor the rooms on other delivery workers.
/// </summary>
[Trait("Category", "external")]
public sealed class RedisDeliveryOrderTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly List<RedisBroker> _brokers = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task PresenceEventsAndDirectMessagesFromAnotherNodeArriveInTheOrderSent()
    {
        var a = await StartAsync(new RecordingHandler());
        var b = await StartAsync(new RecordingHandler());
        var room = "room-" + Guid.NewGuid().ToString("N")[..12];
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        await a.SubscribeRoomAsync(room, Timeout());
        await a.SubscribeUserAsync(user, Timeout());
        const int count = 300;
        for (var i = 0; i < count; i++)
        {
            await b.PublishPresenceAsync(room, OutboundFrame.Text(ServerMessages.PresenceChange(joined: i % 2 == 0, room, $"u{i}")), Timeout());
            await b.SendToUserAsync(user, OutboundFrame.Text(Encoding.UTF8.GetBytes($"{{\"n\":{i}}}")), Timeout());
        }

        var handler = (RecordingHandler)Handler(a);
        await Eventually.TrueAsync(() => handler.PresenceChanges(room).Length == count && handler.Directs(user).Length == count, "every event and message arrived");
        Assert.Equal(Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetString(ServerMessages.PresenceChange(joined: i % 2 == 0, room, $"u{i}"))), handler.PresenceChanges(room));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"{{\"n\":{i}}}"), handler.Directs(user));
    }

    [Fact]
    public async Task ARoomWhoseFanOutIsStuckDelaysNeitherOtherRoomsNorDirectMessages()
    {
        var stuck = NameOnWorker(w => true, "stuck");
        var other = NameOnWorker(w => w != DeliveryWorkers.WorkerOf(stuck), "other");
        var user = NameOnWorker(w => w != DeliveryWorkers.WorkerOf(stuck), "user", prefix: "user:");
        var blocking = new BlockingHandler(stuck);
        var a = await StartAsync(blocking);
        var b = await StartAsync(new RecordingHandler());
        await a.SubscribeRoomAsync(stuck, Timeout());
        await a.SubscribeRoomAsync(other, Timeout());
        await a.SubscribeUserAsync(user, Timeout());
        try
        {
            await Publish(b, stuck, "held");
            await blocking.Entered.Task.WaitAsync(Deadline);

            // The stuck room's worker is blocked inside the node's handler; the others go on.
            await Publish(b, other, "flows");
            await b.SendToUserAsync(user, OutboundFrame.Text("{\"n\":1}"u8.ToArray()), Timeout());
            await Eventually.TrueAsync(() => blocking.Inner.Offsets(other).Length == 1 && blocking.Inner.Directs(user).Length == 1, "the other room and the user got theirs");
            await Publish(b, stuck, "queued behind");
            Assert.Empty(blocking.Inner.Offsets(stuck));
        }
        finally
        {
            blocking.Release.Set();
        }

        await Eventually.TrueAsync(() => blocking.Inner.Offsets(stuck).Length == 2, "the stuck room caught up, in order");
        Assert.Equal([1UL, 2UL], blocking.Inner.Offsets(stuck));
    }

    private static string NameOnWorker(Func<int, bool> accept, string stem, string prefix = "")
    {
        for (var i = 0; ; i++)
        {
            var name = $"{stem}-{i}-{Guid.NewGuid():N}"[..24];
            if (accept(DeliveryWorkers.WorkerOf(prefix + name)))
            {
                return name;
            }
        }
    }

    private async Task<RedisBroker> StartAsync(IBrokerHandler handler)
    {
        var broker = await RedisNodes.StartBrokerAsync(_redis, handler);
        _brokers.Add(broker);
        return broker;
    }

    private static IBrokerHandler Handler(RedisBroker broker) => broker.Handler;

    private static CancellationToken Timeout() => new CancellationTokenSource(Deadline).Token;

    private static async Task Publish(RedisBroker node, string room, string text) =>
        await node.PublishAsync(room, "tester", Encoding.UTF8.GetBytes(text), isBinary: false, Timeout());

    /// <summary>Records like <see cref="RecordingHandler"/>, but the first publication of one room blocks its caller until released.</summary>
    private sealed class BlockingHandler(string room) : IBrokerHandler
    {
        public RecordingHandler Inner { get; } = new();

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Release { get; } = new();

        public void OnPublication(Publication publication)
        {
            if (publication.Room == room)
            {
                Entered.TrySetResult();
                // Blocks the delivery worker on purpose (a fan-out that takes long); bounded, so a
                // failing test cannot hang the run.
                Release.Wait(TimeSpan.FromSeconds(30));
            }

            Inner.OnPublication(publication);
        }

        public void OnDirect(string user, OutboundFrame frame) => Inner.OnDirect(user, frame);

        public void OnPresenceChange(string room, OutboundFrame frame) => Inner.OnPresenceChange(room, frame);

        public void OnStreamLost(string room) => Inner.OnStreamLost(room);

        public IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room) => Inner.LocalPresence(room);

        public IReadOnlyCollection<string> LocalRooms() => Inner.LocalRooms();
    }
}
