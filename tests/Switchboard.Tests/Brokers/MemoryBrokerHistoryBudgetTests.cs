using System.Text;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Options;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// The memory broker's history budgets, step by step: which publication goes when a budget is
/// reached, that a recovery across a publication that was not kept says so, and that the node's
/// account returns to zero when history expires (nothing is counted for ever).
/// </summary>
[Trait("Category", "unit")]
public sealed class MemoryBrokerHistoryBudgetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task TheNodeBudgetPushesOutTheNodesOldestPublicationWhateverItsRoom()
    {
        var one = Payload(1000);
        var cost = Cost("a", "alice", one);
        var broker = Start(new HistoryOptions { MaxBytesPerNode = 3 * cost, MaxBytesPerUser = long.MaxValue, MaxBytesPerRoom = long.MaxValue });
        await JoinAsync(broker, "a", "b");

        await PublishAsync(broker, "a", "alice", one);   // a:1, the node's oldest
        await PublishAsync(broker, "b", "alice", one);   // b:1
        await PublishAsync(broker, "a", "alice", one);   // a:2
        await PublishAsync(broker, "b", "alice", one);   // b:2 pushes a:1 out

        Assert.Equal(3 * cost, broker.RetainedBytes);
        Assert.Equal((ulong[])[2UL], await OffsetsAsync(broker, "a"));
        Assert.Equal((ulong[])[1UL, 2UL], await OffsetsAsync(broker, "b"));
    }

    [Fact]
    public async Task APublicationOverItsPublishersBudgetIsDeliveredButNotKeptAndRecoveryAcrossItFails()
    {
        var small = Payload(1000);
        var cost = Cost("room", "mallory", small);
        var handler = new RecordingHandler();
        var broker = Start(new HistoryOptions { MaxBytesPerUser = (2 * cost) + 10, MaxBytesPerRoom = long.MaxValue, MaxBytesPerNode = long.MaxValue }, handler);
        await JoinAsync(broker, "room");

        var first = await PublishAsync(broker, "room", "mallory", small);
        await PublishAsync(broker, "room", "mallory", small);
        await PublishAsync(broker, "room", "mallory", small);   // over mallory's budget: not kept
        await PublishAsync(broker, "room", "bob", small);        // bob's budget is his own

        Assert.Equal(4, handler.Publications("room").Length);
        Assert.Equal((ulong[])[1UL, 2UL, 4UL], await OffsetsAsync(broker, "room"));
        Assert.Equal(2 * cost, broker.RetainedBytesOf("mallory"));
        var across = await broker.ReadStreamAsync("room", first, 100, CancellationToken.None).AsTask().WaitAsync(Timeout);
        Assert.False(across.Recovered);
        Assert.Equal([2UL, 4UL], across.Publications.Select(p => p.Offset));
        var after = await broker.ReadStreamAsync("room", new StreamPosition(3, first.Epoch), 100, CancellationToken.None).AsTask().WaitAsync(Timeout);
        Assert.True(after.Recovered);
        Assert.Equal([4UL], after.Publications.Select(p => p.Offset));
    }

    [Fact]
    public async Task ExpiredAndForgottenHistoryLeavesNothingOnTheNodesAccount()
    {
        var broker = Start(new HistoryOptions { TtlSeconds = 60 });
        await JoinAsync(broker, "a", "b");
        for (var i = 0; i < 50; i++)
        {
            await PublishAsync(broker, i % 2 == 0 ? "a" : "b", "user" + (i % 7), Payload(2000));
        }

        Assert.True(broker.RetainedBytes > 0);
        await broker.UnsubscribeRoomAsync("a", CancellationToken.None).AsTask().WaitAsync(Timeout);
        _clock.Advance(TimeSpan.FromSeconds(61));
        broker.Sweep();

        Assert.Equal(1, broker.StreamCount);   // b still has members; a is forgotten
        Assert.Equal(0, broker.RetainedBytes);
        Assert.Equal(0, broker.RetainedCount);
        Assert.All(Enumerable.Range(0, 7), u => Assert.Equal(0, broker.RetainedBytesOf("user" + u)));
    }

    [Fact]
    public async Task APublicationLargerThanTheRoomBudgetIsNotKeptAndTheRoomKeepsWhatItHad()
    {
        var small = Payload(100);
        var broker = Start(new HistoryOptions { MaxBytesPerRoom = 4096, MaxBytesPerUser = long.MaxValue, MaxBytesPerNode = long.MaxValue });
        await JoinAsync(broker, "room");

        await PublishAsync(broker, "room", "alice", small);
        await PublishAsync(broker, "room", "alice", Payload(8000));

        Assert.Equal((ulong[])[1UL], await OffsetsAsync(broker, "room"));
    }

    [Fact]
    public async Task ConcurrentPublishersAcrossRoomsLeaveTheNodeWithinItsBudgetAndTheAccountsAgree()
    {
        const int rooms = 16;
        var payload = Payload(3000);
        var budget = 40 * Cost("room00", "user0", payload);
        var broker = Start(new HistoryOptions { MaxBytesPerNode = budget, MaxBytesPerRoom = budget / 4, MaxBytesPerUser = budget / 2 });
        await JoinAsync(broker, [.. Enumerable.Range(0, rooms).Select(r => $"room{r:00}")]);

        // Four publishers race over all rooms, so rooms' locks, the ledger and the node's evictions interleave.
        var publishers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                await PublishAsync(broker, $"room{(i * 7 + p) % rooms:00}", "user" + p, payload);
            }
        }));
        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(30));

        long counted = 0;
        var retained = 0;
        for (var r = 0; r < rooms; r++)
        {
            var read = await broker.ReadStreamAsync($"room{r:00}", null, 100, CancellationToken.None).AsTask().WaitAsync(Timeout);
            counted += read.Publications.Sum(p => p.RetainedBytes);
            retained += read.Publications.Count;
        }

        Assert.True(broker.RetainedBytes <= budget, $"{broker.RetainedBytes} bytes retained over a budget of {budget}");
        Assert.Equal(counted, broker.RetainedBytes);
        Assert.Equal(retained, broker.RetainedCount);
        Assert.Equal(counted, Enumerable.Range(0, 4).Sum(p => broker.RetainedBytesOf("user" + p)));
    }

    private MemoryBroker Start(HistoryOptions history, RecordingHandler? handler = null)
    {
        var options = new SwitchboardOptions { History = history };
        var broker = new MemoryBroker(Microsoft.Extensions.Options.Options.Create(options), _clock);
        broker.Attach(handler ?? new RecordingHandler());
        return broker;
    }

    private static async Task JoinAsync(MemoryBroker broker, params string[] rooms)
    {
        foreach (var room in rooms)
        {
            await broker.SubscribeRoomAsync(room, CancellationToken.None).AsTask().WaitAsync(Timeout);
        }
    }

    private static Task<StreamPosition> PublishAsync(MemoryBroker broker, string room, string from, byte[] payload) =>
        broker.PublishAsync(room, from, payload, isBinary: false, CancellationToken.None).AsTask().WaitAsync(Timeout);

    private static async Task<ulong[]> OffsetsAsync(MemoryBroker broker, string room)
    {
        var read = await broker.ReadStreamAsync(room, null, 100, CancellationToken.None).AsTask().WaitAsync(Timeout);
        return read.Publications.Select(p => p.Offset).ToArray();
    }

    /// <summary>A JSON string of <paramref name="bytes"/> bytes.</summary>
    private static byte[] Payload(int bytes) => Encoding.UTF8.GetBytes("\"" + new string('x', bytes - 2) + "\"");

    /// <summary>What the budgets count a publication of <paramref name="payload"/> as (its offsets here have one digit).</summary>
    private static long Cost(string room, string from, byte[] payload) => new Publication(room, 1, from, payload, isBinary: false, DateTimeOffset.UnixEpoch).RetainedBytes;
}
