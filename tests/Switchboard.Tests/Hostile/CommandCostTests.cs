using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Tests.Concurrency;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Commands that cost the node far more than they cost the client: join/leave toggling in a big room
/// (a presence event to every member each time), large history and presence replies, a recovery
/// larger than the outbound queue, and one user publishing through many connections. Each attack is
/// measured on the in-process node (deliveries a watcher receives, replies and bytes queued, broker
/// publishes) against a bound set low enough to show.
/// </summary>
[Trait("Category", "unit")]
public sealed class CommandCostTests
{
    private static readonly string[] Toggle = ["""{"op":"join","room":"big"}""", """{"op":"leave","room":"big"}"""];

    [Fact]
    public async Task JoinLeaveTogglingIsRateLimitedSoAWatcherSeesOnlyTheBurst()
    {
        await using var node = Node(new() { ["Switchboard:Limits:JoinBurst"] = "10", ["Switchboard:Limits:JoinsPerSecond"] = "0.001" });
        var (watcher, watcherWire) = node.Open("watcher");
        await node.Hub.JoinAsync(watcher, "big", null, true, default, CancellationToken.None);
        var (attacker, attackerWire) = node.Open("mallory");

        await node.Protocol.OnMessageAsync(attacker, Toggles(100, endJoined: false), isBinary: false);

        // Before: 200 events, one per command, each a delivery to every member of the room.
        Assert.Equal(10, PresenceOf(await SessionProbe.SentUpToNowAsync(watcher, watcherWire), "mallory"));
        Assert.Equal(190, (await SessionProbe.SentUpToNowAsync(attacker, attackerWire)).Count(m => Code(m) == ErrorCodes.RateLimited));
    }

    [Fact]
    public async Task PresenceChangesBeyondTheRoomsBurstAreCoalescedIntoTheNetChange()
    {
        var time = new FakeTimeProvider();
        await using var node = Node(new() { ["Switchboard:Limits:PresenceEventBurst"] = "5", ["Switchboard:Limits:PresenceEventsPerSecond"] = "1" }, time);
        var (watcher, watcherWire) = node.Open("watcher");
        await node.Hub.JoinAsync(watcher, "big", null, true, default, CancellationToken.None);
        var (attacker, _) = node.Open("mallory");

        // 100 joins and leaves, then one more join: the net change is "mallory joined".
        await node.Protocol.OnMessageAsync(attacker, Toggles(100, endJoined: true), isBinary: false);
        var beforeFlush = PresenceOf(await SessionProbe.SentUpToNowAsync(watcher, watcherWire), "mallory");
        time.Advance(TimeSpan.FromSeconds(1));
        var flushed = await SessionProbe.SentUpToNowAsync(watcher, watcherWire);

        // The watcher's own arrival took one of the five; before: 201 events.
        Assert.Equal(4, beforeFlush);
        var net = Assert.Single(flushed, m => m.GetProperty("op").GetString() is "joined" or "left");
        Assert.Equal("joined", net.GetProperty("op").GetString());
        Assert.Equal("mallory", net.GetProperty("user").GetString());
        Assert.True(attacker.Rooms.ContainsKey("big"));
    }

    [Fact]
    public async Task TogglingAloneOnANodeIsCoalescedThoughTheRoomRetiresOnEveryLeave()
    {
        // The room's other members are on other nodes: here the room retires with every leave, and
        // every event goes to the broker, to reach all of them.
        var time = new FakeTimeProvider();
        var broker = new ScriptedBroker();
        await using var node = Node(new() { ["Switchboard:Limits:PresenceEventBurst"] = "5", ["Switchboard:Limits:PresenceEventsPerSecond"] = "1" }, time, broker);
        var (attacker, _) = node.Open("mallory");

        await node.Protocol.OnMessageAsync(attacker, Toggles(100, endJoined: false), isBinary: false);
        var beforeFlush = broker.PresencePublishes;
        time.Advance(TimeSpan.FromSeconds(1));

        // Before: 200 presence events published, one per command. The burst ended on "joined" (the
        // fifth change), the rest nets to "left": one more event.
        Assert.Equal(5, beforeFlush);
        Assert.Equal(6, broker.PresencePublishes);
        Assert.Equal(0, node.Hub.RoomCount);
        // The rate outlives the room only until its bucket is full again: nothing is left behind.
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, node.Hub.PresenceRateCount);
    }

    [Fact]
    public async Task HistoryAndPresenceHaveTheirOwnLowerRate()
    {
        await using var node = Node(new() { ["Switchboard:Limits:ReadBurst"] = "3", ["Switchboard:Limits:ReadsPerSecond"] = "0.001" });
        var (client, wire) = node.Open("alice");

        await node.Protocol.OnMessageAsync(client, Lines(10, i => $$"""{"op":"presence","room":"r","id":{{i}}}"""), isBinary: false);
        var sent = await SessionProbe.SentUpToNowAsync(client, wire);

        Assert.Equal(3, sent.Count(m => m.GetProperty("op").GetString() == "reply"));
        Assert.Equal(7, sent.Count(m => Code(m) == ErrorCodes.RateLimited));
    }

    [Fact]
    public async Task LargeHistoryRepliesSpendAReplyByteBudget()
    {
        var broker = new ScriptedBroker { NextRead = Read(count: 50, payloadBytes: 10_000, recovered: null) };
        await using var node = Node(new() { ["Switchboard:Limits:ReplyBurstBytes"] = "100000", ["Switchboard:Limits:ReplyBytesPerSecond"] = "1" }, broker: broker);
        var (client, wire) = node.Open("alice");

        await node.Protocol.OnMessageAsync(client, Lines(10, i => $$"""{"op":"history","room":"r","id":{{i}}}"""), isBinary: false);
        var sent = await SessionProbe.SentUpToNowAsync(client, wire);
        var replyBytes = sent.Where(m => m.GetProperty("op").GetString() == "reply").Sum(m => m.GetRawText().Length);

        // Before: ten replies of ~500 KB each (5 MB) were queued, and the queue's 4 MB closed the client.
        Assert.Equal(1, sent.Count(m => m.GetProperty("op").GetString() == "reply"));
        Assert.Equal(9, sent.Count(m => Code(m) == ErrorCodes.RateLimited));
        Assert.InRange(replyBytes, 1, 600_000);
        Assert.False(client.IsClosing);
    }

    [Fact]
    public async Task ARecoveryLargerThanTheOutboundQueueIsCutToTheReplyCapInsteadOfClosingTheJoiner()
    {
        var broker = new ScriptedBroker { NextRead = Read(count: 100, payloadBytes: 10_000, recovered: true) };
        await using var node = Node(new() { ["Switchboard:Limits:MaxQueuedBytes"] = "262144" }, broker: broker);
        var (client, wire) = node.Open("alice");

        await node.Protocol.OnMessageAsync(client, Encoding.UTF8.GetBytes("""{"op":"join","room":"r","since":{"offset":0,"epoch":"e1"},"id":1}"""), isBinary: false);
        var reply = Assert.Single(await SessionProbe.SentUpToNowAsync(client, wire), m => m.GetProperty("op").GetString() == "reply");

        // Before: a 1 MB reply into a 256 KB queue closed the joiner with 4000, on every retry.
        Assert.False(client.IsClosing, $"closed with {client.Close?.Code}");
        Assert.False(reply.GetProperty("recovered").GetBoolean());
        var publications = reply.GetProperty("publications").EnumerateArray().ToArray();
        Assert.InRange(reply.GetRawText().Length, 1, 131072 + 1024);
        Assert.NotEmpty(publications);
        Assert.Equal(100UL, publications[^1].GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task AUsersPublishesAcrossItsConnectionsShareOneRate()
    {
        var broker = new ScriptedBroker();
        await using var node = Node(new() { ["Switchboard:Limits:UserPublishBurst"] = "5", ["Switchboard:Limits:UserPublishesPerSecond"] = "0.001" }, broker: broker);
        var sessions = new List<(Connection Session, RecordingTransport Wire)>();
        for (var i = 0; i < 3; i++)
        {
            var (session, wire) = node.Open("alice");
            await node.Hub.AddUserAsync(session);
            await node.Hub.JoinAsync(session, "lobby", null, true, default, CancellationToken.None);
            sessions.Add((session, wire));
        }

        var refused = 0;
        foreach (var (session, wire) in sessions)
        {
            await node.Protocol.OnMessageAsync(session, Lines(4, i => $$"""{"op":"publish","room":"lobby","data":{{i}},"id":{{i}}}"""), isBinary: false);
            refused += (await SessionProbe.SentUpToNowAsync(session, wire)).Count(m => Code(m) == ErrorCodes.RateLimited);
        }

        // Before: twelve publishes, four per connection, each connection well within its own rate.
        Assert.Equal(5, broker.Count("publish lobby"));
        Assert.Equal(7, refused);
    }

    private static InProcessNode Node(Dictionary<string, string?> settings, TimeProvider? time = null, ScriptedBroker? broker = null)
    {
        settings.TryAdd("Switchboard:Limits:RateLimitStrikes", "1000000");
        return new InProcessNode(broker ?? new ScriptedBroker(), settings, time);
    }

    private static StreamRead Read(int count, int payloadBytes, bool? recovered)
    {
        var payload = Encoding.UTF8.GetBytes("\"" + new string('x', payloadBytes) + "\"");
        var publications = Enumerable.Range(1, count)
            .Select(i => new Publication("r", (ulong)i, "bob", payload, isBinary: false, DateTimeOffset.UnixEpoch))
            .ToArray();
        return new StreamRead(new StreamPosition((ulong)count, "e1"), publications, recovered);
    }

    /// <summary>One frame of <paramref name="pairs"/> joins and leaves of room <c>big</c>, and one more join when <paramref name="endJoined"/>.</summary>
    private static byte[] Toggles(int pairs, bool endJoined)
    {
        var lines = Enumerable.Range(0, pairs).SelectMany(_ => Toggle);
        return Encoding.UTF8.GetBytes(string.Join('\n', endJoined ? lines.Append("""{"op":"join","room":"big"}""") : lines));
    }

    private static byte[] Lines(int count, Func<int, string> command) =>
        Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, count).Select(command)));

    private static int PresenceOf(List<JsonElement> sent, string user) =>
        sent.Count(m => m.GetProperty("op").GetString() is "joined" or "left" && m.GetProperty("user").GetString() == user);

    private static string? Code(JsonElement message) =>
        message.TryGetProperty("code", out var code) ? code.GetString() : null;
}
