using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// The in-memory broker's room lock only orders: with a fan-out held in the middle by the test, the
/// room's stream can still be read and appended to, and deliveries still leave in offset order.
/// </summary>
[Trait("Category", "unit")]
public sealed class MemoryBrokerDeliveryTests
{
    [Fact]
    public async Task AJoinReadsTheStreamWhileAFanOutIsStillDelivering()
    {
        var (broker, node) = Start();
        node.HoldNext.Close();

        var first = Task.Run(() => broker.PublishAsync("stadium", "a", "1"u8.ToArray(), false, CancellationToken.None).AsTask());
        await Eventually.TrueAsync(() => node.HoldNext.Waiting == 1, "the first publication's fan-out is under way");

        // Before the fix the read waited for the stream lock, held for the whole fan-out.
        var read = await broker.ReadStreamAsync("stadium", null, 10, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1UL, read.Top.Offset);
        Assert.False(first.IsCompleted, "a publisher's reply waits until its publication was handed over");

        node.HoldNext.Open();
        Assert.Equal(1UL, (await first.WaitAsync(TimeSpan.FromSeconds(5))).Offset);
    }

    [Fact]
    public async Task PublicationsAppendedDuringAHeldFanOutAreDeliveredAfterItInOffsetOrder()
    {
        var (broker, node) = Start();
        node.HoldNext.Close();

        var first = Task.Run(() => broker.PublishAsync("stadium", "a", "1"u8.ToArray(), false, CancellationToken.None).AsTask());
        await Eventually.TrueAsync(() => node.HoldNext.Waiting == 1, "the first publication's fan-out is under way");
        var later = Enumerable.Range(2, 20).Select(i => broker.PublishAsync("stadium", "b", "2"u8.ToArray(), false, CancellationToken.None).AsTask()).ToArray();

        // Appended at once, each with its offset, though none can be delivered yet.
        Assert.Equal(21UL, (await broker.ReadStreamAsync("stadium", null, 0, CancellationToken.None)).Top.Offset);
        Assert.All(later, p => Assert.False(p.IsCompleted));

        node.HoldNext.Open();
        await Task.WhenAll(later.Append(first)).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (ulong)i), node.Delivered);
    }

    private static (MemoryBroker Broker, HoldingHandler Node) Start()
    {
        var broker = new MemoryBroker(Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions()), new FakeTimeProvider());
        var node = new HoldingHandler();
        broker.Attach(node);
        return (broker, node);
    }

    /// <summary>A node whose fan-out of a publication waits at a gate the test opens, recording what it got.</summary>
    private sealed class HoldingHandler : IBrokerHandler
    {
        private readonly Lock _lock = new();
        private readonly List<ulong> _delivered = [];

        public Gate HoldNext { get; } = new(open: true);

        public IReadOnlyList<ulong> Delivered
        {
            get
            {
                lock (_lock)
                {
                    return [.. _delivered];
                }
            }
        }

        public void OnPublication(Publication publication)
        {
            // A fan-out to a very large room, held for as long as the test likes.
            HoldNext.PassAsync().GetAwaiter().GetResult();
            lock (_lock)
            {
                _delivered.Add(publication.Offset);
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
