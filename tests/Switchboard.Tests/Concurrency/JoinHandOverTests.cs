using Switchboard.Brokers;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// The hand-over from a join's stream read to the live feed, with the feed's deliveries placed by the
/// test before, during and after the read: every offset once, in order, after the join reply.
/// </summary>
[Trait("Category", "unit")]
public sealed class JoinHandOverTests
{
    // Only the stream matters here: the joiner's own "joined" event would sit between the lines.
    private static readonly Dictionary<string, string?> NoPresenceEvents = new() { ["Switchboard:Limits:MaxMembersForPresenceEvents"] = "0" };

    [Fact]
    public async Task OffsetsTheJoinReplyCoveredAreNotDeliveredAgainWhenTheyArriveAfterGoingLive()
    {
        var broker = new ScriptedBroker { NextRead = new StreamRead(new StreamPosition(5, "e1"), [], null) };
        await using var node = new InProcessNode(broker, NoPresenceEvents);
        var (alice, wire) = node.Open("alice");

        await node.Hub.JoinAsync(alice, "lobby", null, true, "1"u8.ToArray(), CancellationToken.None);
        // Offsets 4 and 5 were already in the stream the reply covered, but the feed brings them late.
        broker.Deliver("lobby", 4);
        broker.Deliver("lobby", 5);
        broker.Deliver("lobby", 6);
        broker.Deliver("lobby", 6);

        Assert.Contains("\"op\":\"reply\"", await wire.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":6", await wire.NextAsync(), StringComparison.Ordinal);
        await AssertNothingElseAsync(alice, wire);
    }

    [Fact]
    public async Task DeliveriesDuringTheReadAreHeldAndReleasedAfterTheReplyOnceEach()
    {
        var broker = new ScriptedBroker { NextRead = new StreamRead(new StreamPosition(6, "e1"), [], null) };
        await using var node = new InProcessNode(broker, NoPresenceEvents);
        var (alice, wire) = node.Open("alice");
        broker.ReadGate.Close();

        var join = node.Hub.JoinAsync(alice, "lobby", null, true, "1"u8.ToArray(), CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => broker.ReadGate.Waiting == 1, "the join is reading the stream");
        broker.Deliver("lobby", 6);
        broker.Deliver("lobby", 7);
        broker.Deliver("lobby", 7);
        broker.ReadGate.Open();
        await join.WaitAsync(TimeSpan.FromSeconds(5));
        broker.Deliver("lobby", 8);

        Assert.Contains("\"op\":\"reply\"", await wire.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":7", await wire.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":8", await wire.NextAsync(), StringComparison.Ordinal);
        await AssertNothingElseAsync(alice, wire);
    }

    [Fact]
    public async Task AMemberFloodedWhileJoiningIsClosedAsASlowConsumerInsteadOfHoldingWithoutBound()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker, new Dictionary<string, string?> { ["Switchboard:Limits:MaxQueuedMessages"] = "16", ["Switchboard:Limits:MaxMembersForPresenceEvents"] = "0" });
        var (alice, wire) = node.Open("alice");
        broker.ReadGate.Close();

        var join = node.Hub.JoinAsync(alice, "lobby", null, true, "1"u8.ToArray(), CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => broker.ReadGate.Waiting == 1, "the join is reading the stream");
        for (ulong offset = 1; offset <= 17; offset++)
        {
            broker.Deliver("lobby", offset);
        }

        Assert.Equal(CloseCodes.SlowConsumer, (await wire.Closed.WaitAsync(TimeSpan.FromSeconds(5))).Code);
        broker.ReadGate.Open();
        await join.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Closes the session and checks that nothing but the close followed what was read.</summary>
    private static async Task AssertNothingElseAsync(Connections.Connection session, RecordingTransport wire)
    {
        session.RequestClose(CloseCodes.Normal, string.Empty, flush: true);
        await wire.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(wire.Drain());
    }
}
