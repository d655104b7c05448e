using System.Text;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Options;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// What bounds the in-memory broker's idempotency keys, on a clock the test moves: a key is
/// remembered for the window and no longer, a room remembers at most so many (the oldest forgotten
/// first), and a window of 0 turns keys off. The rest of idempotent publishing is in the broker contract.
/// </summary>
[Trait("Category", "unit")]
public sealed class MemoryBrokerIdempotencyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AKeyIsRememberedForTheWindowAndNoLonger()
    {
        var broker = Start(new HistoryOptions { IdempotencyWindowSeconds = 60 });

        var first = await PublishAsync(broker, "k");
        _clock.Advance(TimeSpan.FromSeconds(59));
        var within = await PublishAsync(broker, "k");
        _clock.Advance(TimeSpan.FromSeconds(1));
        var after = await PublishAsync(broker, "k");

        Assert.Equal(first, within);
        Assert.Equal(first.Offset + 1, after.Offset);
    }

    [Fact]
    public async Task ARoomRemembersAtMostItsCapacityOfKeysForgettingTheOldestFirst()
    {
        var broker = Start(new HistoryOptions { IdempotencyKeysPerRoom = 2 });

        await PublishAsync(broker, "a");
        var b = await PublishAsync(broker, "b");
        await PublishAsync(broker, "c");             // a is forgotten

        Assert.Equal(b, await PublishAsync(broker, "b"));
        Assert.Equal(4UL, (await PublishAsync(broker, "a")).Offset);
    }

    [Fact]
    public async Task AWindowOfZeroIgnoresKeys()
    {
        var broker = Start(new HistoryOptions { IdempotencyWindowSeconds = 0 });

        var first = await PublishAsync(broker, "k");
        var second = await PublishAsync(broker, "k");

        Assert.Equal(first.Offset + 1, second.Offset);
    }

    private MemoryBroker Start(HistoryOptions history)
    {
        history.KeepUnjoinedRooms = true;
        var broker = new MemoryBroker(Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions { History = history }), _clock);
        broker.Attach(new RecordingHandler());
        return broker;
    }

    private static Task<StreamPosition> PublishAsync(MemoryBroker broker, string key) =>
        broker.PublishAsync("room", "alice", Encoding.UTF8.GetBytes("\"hi\""), isBinary: false, key, CancellationToken.None).AsTask().WaitAsync(Timeout);
}
