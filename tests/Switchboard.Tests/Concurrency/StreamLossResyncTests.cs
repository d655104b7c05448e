using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A room whose stream the broker lost: its members here are detached at once (nothing more of the
/// room reaches them) and told per room, paced by <c>Limits:ResyncRoomsPerSecond</c> on a fake clock,
/// with <c>removed</c>/<c>stream_lost</c>/<c>rejoin:true</c>; their connections and other rooms carry on.
/// </summary>
[Trait("Category", "unit")]
public sealed class StreamLossResyncTests
{
    private static Dictionary<string, string?> Settings(int roomsPerSecond) => new()
    {
        // Only the stream matters here: presence events would sit between the lines.
        ["Switchboard:Limits:MaxMembersForPresenceEvents"] = "0",
        ["Switchboard:Limits:ResyncRoomsPerSecond"] = roomsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task ALostRoomIsRemovedWithRejoinWhileTheConnectionsOtherRoomKeepsFlowing()
    {
        var broker = new ScriptedBroker { NextRead = new StreamRead(new StreamPosition(5, "e1"), [], null) };
        await using var node = new InProcessNode(broker, Settings(200));
        var (alice, wire) = node.Open("alice");
        await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None);
        await node.Hub.JoinAsync(alice, "news", null, true, default, CancellationToken.None);

        broker.Handler.OnStreamLost("lobby");
        // The new epoch starts over: its offsets must not reach a member holding the old epoch's position.
        broker.Deliver("lobby", 6);
        broker.Deliver("news", 6);
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 1, "the member was told");
        broker.Deliver("news", 7);

        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);
        var removed = Assert.Single(sent, m => Op(m) == "removed");
        Assert.Equal("lobby", removed.GetProperty("room").GetString());
        Assert.Equal(ErrorCodes.StreamLost, removed.GetProperty("code").GetString());
        Assert.True(removed.GetProperty("rejoin").GetBoolean());
        Assert.Equal(["news:6", "news:7"], Messages(sent));
        Assert.False(wire.Closed.IsCompleted, "the connection stays open");
    }

    [Fact]
    public async Task NoticesArePacedAtTheConfiguredRoomsPerSecondWhileEveryMemberIsDetachedAtOnce()
    {
        var time = new FakeTimeProvider();
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker, Settings(2), time);
        var members = new List<(Connection Session, RecordingTransport Wire)>();
        for (var i = 0; i < 5; i++)
        {
            var member = node.Open("user" + i);
            await node.Hub.JoinAsync(member.Session, "lobby", null, true, default, CancellationToken.None);
            members.Add(member);
        }

        broker.Handler.OnStreamLost("lobby");
        broker.Deliver("lobby", 1);

        // A burst of one second's worth, then one every half second.
        await Eventually.TrueAsync(() => node.Hub.Resync.WaitingForTime, "the pacer waits for its clock");
        Assert.Equal(2, await CountRemovedAsync(members));
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Eventually.TrueAsync(() => node.Hub.Resync.Told == 3 && node.Hub.Resync.WaitingForTime, "one more member was told");
        Assert.Equal(1, await CountRemovedAsync(members));
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 5, "every member was told");

        Assert.Equal(2, await CountRemovedAsync(members));
        foreach (var (session, wire) in members)
        {
            Assert.Empty(Messages(await SessionProbe.SentUpToNowAsync(session, wire)));
        }
    }

    [Fact]
    public async Task AMemberThatLeavesOrClosesWhileItsNoticeWaitsIsNotToldAndCostsNoToken()
    {
        var time = new FakeTimeProvider();
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker, Settings(1), time);
        var (alice, aliceWire) = node.Open("alice");
        var (bob, bobWire) = node.Open("bob");
        var (carol, carolWire) = node.Open("carol");
        var (dave, daveWire) = node.Open("dave");
        foreach (var session in new[] { alice, bob, carol })
        {
            await node.Hub.JoinAsync(session, "lobby", null, true, default, CancellationToken.None);
        }

        await node.Hub.JoinAsync(dave, "news", null, true, default, CancellationToken.None);

        broker.Handler.OnStreamLost("lobby");
        await Eventually.TrueAsync(() => node.Hub.Resync.Told == 1 && node.Hub.Resync.WaitingForTime, "the first member was told");
        var told = new[] { (alice, aliceWire), (bob, bobWire), (carol, carolWire) };
        var first = (await Task.WhenAll(told.Select(async m => (m, Removed: await CountRemovedAsync([m]))))).Single(x => x.Removed == 1).m;
        var waiting = told.Where(m => m != first).ToArray();
        // One waiting member leaves, the other's connection closes (its owner's cleanup runs).
        Assert.Null(await node.Hub.LeaveAsync(waiting[0].Item1, "lobby", CancellationToken.None));
        await node.Hub.RemoveConnectionAsync(waiting[1].Item1);
        broker.Handler.OnStreamLost("news");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 4, "every notice was handled");

        // Dave's notice came after the two dropped ones and needed only the one token a second gave.
        Assert.Equal(2, node.Hub.Resync.Told);
        Assert.Equal(1, await CountRemovedAsync([(dave, daveWire)]));
        Assert.Equal(0, await CountRemovedAsync(waiting));
    }

    [Fact]
    public async Task ARejoinAfterTheNoticeStartsAFreshMembershipThatReceivesTheNewEpochOnce()
    {
        var broker = new ScriptedBroker { NextRead = new StreamRead(new StreamPosition(5, "e1"), [], null) };
        await using var node = new InProcessNode(broker, Settings(200));
        var (alice, wire) = node.Open("alice");
        await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None);
        broker.Handler.OnStreamLost("lobby");
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 1, "the member was told");
        Assert.False(alice.IsMemberOf("lobby"), "a member told removed may not publish");

        broker.NextRead = new StreamRead(new StreamPosition(1, "e2"), [], false);
        var error = await node.Hub.JoinAsync(alice, "lobby", new StreamPosition(5, "e1"), true, "9"u8.ToArray(), CancellationToken.None);
        broker.Deliver("lobby", 1);
        broker.Deliver("lobby", 2);
        broker.Deliver("lobby", 2);

        Assert.Null(error);
        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);
        var reply = Assert.Single(sent, m => Op(m) == "reply");
        Assert.False(reply.GetProperty("recovered").GetBoolean());
        Assert.Equal("e2", reply.GetProperty("epoch").GetString());
        Assert.Equal(["lobby:2"], Messages(sent));
        Assert.True(alice.IsMemberOf("lobby"));
    }

    [Fact]
    public async Task AMemberLostWhileItsJoinReadsGetsTheJoinReplyFirstThenTheNoticeAndNothingHeld()
    {
        var broker = new ScriptedBroker { NextRead = new StreamRead(new StreamPosition(5, "e1"), [], null) };
        await using var node = new InProcessNode(broker, Settings(200));
        var (alice, wire) = node.Open("alice");
        broker.ReadGate.Close();
        var join = node.Hub.JoinAsync(alice, "lobby", null, true, "1"u8.ToArray(), CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => broker.ReadGate.Waiting == 1, "the join is reading the stream");
        broker.Deliver("lobby", 6);
        broker.Handler.OnStreamLost("lobby");
        broker.Deliver("lobby", 1);
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 1, "the notice was handled");

        broker.ReadGate.Open();
        Assert.Null(await join.WaitAsync(TimeSpan.FromSeconds(5)));

        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);
        Assert.Equal(["reply", "removed"], sent.Select(Op));
    }

    [Fact]
    public async Task NoticesStillWaitingWhenTheNodeDrainsAreDropped()
    {
        var time = new FakeTimeProvider();
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker, Settings(1), time);
        var (alice, aliceWire) = node.Open("alice");
        var (bob, bobWire) = node.Open("bob");
        await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None);
        await node.Hub.JoinAsync(bob, "lobby", null, true, default, CancellationToken.None);

        broker.Handler.OnStreamLost("lobby");
        await Eventually.TrueAsync(() => node.Hub.Resync.Told == 1 && node.Hub.Resync.WaitingForTime, "the first member was told");
        node.Services.GetRequiredService<ShutdownState>().BeginDraining();
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => node.Hub.Resync.Handled == 2, "both notices were handled");

        Assert.Equal(1, node.Hub.Resync.Told);
        Assert.Equal(1, await CountRemovedAsync([(alice, aliceWire), (bob, bobWire)]));
    }

    private static string? Op(JsonElement message) => message.GetProperty("op").GetString();

    private static List<string> Messages(IEnumerable<JsonElement> sent) =>
        sent.Where(m => Op(m) == "message").Select(m => m.GetProperty("room").GetString() + ":" + m.GetProperty("offset").GetUInt64()).ToList();

    private static async Task<int> CountRemovedAsync(IEnumerable<(Connection Session, RecordingTransport Wire)> members)
    {
        var count = 0;
        foreach (var (session, wire) in members)
        {
            count += (await SessionProbe.SentUpToNowAsync(session, wire)).Count(m => Op(m) == "removed");
        }

        return count;
    }
}
