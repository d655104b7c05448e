using System.Text.Json;
using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class RoomTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Rooms:Rules:0:Pattern"] = "locked:*",
        ["Switchboard:Rooms:Rules:0:Join"] = "nobody",
        ["Switchboard:Rooms:Rules:1:Pattern"] = "announce:*",
        ["Switchboard:Rooms:Rules:1:Publish"] = "server",
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task ConnectReportsConnectedWithTheUserFromTheWelcome()
    {
        var states = new List<ConnectionState>();
        await using var client = Clients.Create(_node.WsUri, "alice");
        client.StateChanged += (_, status) => { lock (states) { states.Add(status.State); } };

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal("alice", client.User);
        Assert.False(string.IsNullOrEmpty(client.SessionId));
        lock (states)
        {
            Assert.Equal([ConnectionState.Connected], states);
        }
    }

    [Fact]
    public async Task PublishReturnsTheOffsetFromTheReplyAndMembersReceiveTheData()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "lobby");
        await using var bob = await Clients.ConnectAsync(_node, "bob", "lobby");
        var received = Wait.Signal<RoomMessage>();
        bob.Join("lobby").MessageReceived += (_, m) => received.TrySetResult(m);

        var first = await alice.Join("lobby").PublishAsync(new Chat("hi"), default).WaitAsync(Wait.Timeout);
        var second = await alice.Join("lobby").PublishAsync(JsonDocument.Parse("""{"text":"raw"}""").RootElement).WaitAsync(Wait.Timeout);

        Assert.Equal(1UL, first);
        Assert.Equal(2UL, second);
        var message = await received.Task.WaitAsync(Wait.Timeout);
        Assert.Equal("lobby", message.Room);
        Assert.Equal("alice", message.From);
        Assert.Equal(1UL, message.Offset);
        Assert.False(message.IsBinary);
        Assert.Equal("hi", message.Deserialize<Chat>()!.Text);
        Assert.Equal("hi", message.Data.GetProperty("text").GetString());
    }

    [Fact]
    public async Task MessagesArriveInOffsetOrderThroughTheAsyncStream()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "ordered");
        await using var bob = await Clients.ConnectAsync(_node, "bob", "ordered");
        var room = alice.Join("ordered");

        var publishes = Enumerable.Range(1, 100).Select(i => room.PublishAsync(i)).ToList();
        await Task.WhenAll(publishes).WaitAsync(Wait.Timeout);

        var received = new List<RoomMessage>();
        await foreach (var message in bob.Join("ordered").Messages.WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            received.Add(message);
            if (received.Count == 100)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (ulong)i), received.Select(m => m.Offset));
        // Publishes started in this order are written in this order, so they take offsets in this order too.
        Assert.Equal(Enumerable.Range(1, 100), received.Select(m => m.Deserialize<int>()));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (ulong)i), publishes.Select(p => p.Result));
    }

    [Fact]
    public async Task PresenceEventsAndQueryShowWhoIsInTheRoom()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "team");
        var changes = new List<PresenceChange>();
        var bobLeft = Wait.Signal<bool>();
        alice.Join("team").PresenceChanged += (_, change) =>
        {
            lock (changes)
            {
                changes.Add(change);
            }

            if (change is { User: "bob", Joined: false })
            {
                bobLeft.TrySetResult(true);
            }
        };

        var bob = await Clients.ConnectAsync(_node, "bob", "team");
        var users = await alice.Join("team").PresenceAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(new Dictionary<string, int> { ["alice"] = 1, ["bob"] = 1 }, users);

        await bob.Join("team").LeaveAsync().WaitAsync(Wait.Timeout);
        await bobLeft.Task.WaitAsync(Wait.Timeout);
        await bob.DisposeAsync();

        lock (changes)
        {
            Assert.Contains(new PresenceChange("team", "bob", true), changes);
            Assert.Contains(new PresenceChange("team", "bob", false), changes);
        }
    }

    [Fact]
    public async Task HistoryReturnsTheLatestOrThoseAfterAPosition()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "archive");
        var room = alice.Join("archive");
        for (var i = 1; i <= 5; i++)
        {
            await room.PublishAsync(new Chat("m" + i)).WaitAsync(Wait.Timeout);
        }

        var latest = await room.HistoryAsync(limit: 2).WaitAsync(Wait.Timeout);
        Assert.Equal([4UL, 5UL], latest.Messages.Select(m => m.Offset));
        Assert.Equal(5UL, latest.Position.Offset);

        var after = await room.HistoryAsync(since: new StreamPosition(3, latest.Position.Epoch)).WaitAsync(Wait.Timeout);
        Assert.True(after.Recovered);
        Assert.Equal(["m4", "m5"], after.Messages.Select(m => m.Deserialize<Chat>()!.Text));
    }

    [Fact]
    public async Task DirectMessagesReachEveryConnectionOfTheUser()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice");
        await using var bob = await Clients.ConnectAsync(_node, "bob");
        var received = Wait.Signal<DirectMessage>();
        bob.DirectReceived += (_, m) => received.TrySetResult(m);

        await alice.SendAsync("bob", new Chat("psst")).WaitAsync(Wait.Timeout);

        var message = await received.Task.WaitAsync(Wait.Timeout);
        Assert.Equal("alice", message.From);
        Assert.Equal("psst", message.Deserialize<Chat>()!.Text);
    }

    [Fact]
    public async Task ErrorRepliesThrowWithTheServersCode()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice");

        var forbiddenJoin = await Assert.ThrowsAsync<SwitchboardException>(() => alice.Join("locked:vault").Joined.WaitAsync(Wait.Timeout));
        Assert.Equal(ErrorCodes.Forbidden, forbiddenJoin.Code);

        var announce = alice.Join("announce:news");
        await announce.Joined.WaitAsync(Wait.Timeout);
        var forbiddenPublish = await Assert.ThrowsAsync<SwitchboardException>(() => announce.PublishAsync(new Chat("no")).WaitAsync(Wait.Timeout));
        Assert.Equal(ErrorCodes.Forbidden, forbiddenPublish.Code);

        // The connection carries on after error replies.
        var open = alice.Join("open");
        await open.Joined.WaitAsync(Wait.Timeout);
        Assert.Equal(1UL, await open.PublishAsync(new Chat("yes")).WaitAsync(Wait.Timeout));
    }

    [Fact]
    public async Task BinaryPublicationsArriveAsBinaryLiveAndInHistory()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "bytes");
        await using var bob = await Clients.ConnectAsync(_node, "bob", "bytes");
        var received = Wait.Signal<RoomMessage>();
        bob.Join("bytes").MessageReceived += (_, m) => received.TrySetResult(m);

        await alice.Join("bytes").PublishAsync(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }).WaitAsync(Wait.Timeout);

        var live = await received.Task.WaitAsync(Wait.Timeout);
        Assert.True(live.IsBinary);
        Assert.Equal("alice", live.From);
        Assert.Equal(1UL, live.Offset);
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, live.Bytes.ToArray());
        Assert.Throws<InvalidOperationException>(() => live.Data);

        var history = await bob.Join("bytes").HistoryAsync().WaitAsync(Wait.Timeout);
        var stored = Assert.Single(history.Messages);
        Assert.True(stored.IsBinary);
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, stored.Bytes.ToArray());
    }

    [Fact]
    public async Task LeavingEndsTheMessageStreamAndStopsDeliveries()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "brief");
        var room = alice.Join("brief");

        await room.LeaveAsync().WaitAsync(Wait.Timeout);

        var drained = new List<RoomMessage>();
        await foreach (var message in room.Messages.WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            drained.Add(message);
        }

        Assert.Empty(drained);
        var error = await Assert.ThrowsAsync<SwitchboardException>(() => room.PublishAsync(new Chat("gone")).WaitAsync(Wait.Timeout));
        Assert.Equal(ErrorCodes.NotJoined, error.Code);
    }

    [Fact]
    public async Task ABinaryPublishErrorArrivesWithoutAnIdThroughErrorReceived()
    {
        await using var alice = await Clients.ConnectAsync(_node, "alice", "left-behind");
        var error = Wait.Signal<ServerError>();
        alice.ErrorReceived += (_, e) => error.TrySetResult(e);
        var room = alice.Join("left-behind");
        await room.LeaveAsync().WaitAsync(Wait.Timeout);

        // Binary frames carry no id: the publish completes once written, the refusal comes on its own.
        await room.PublishAsync(new byte[] { 1, 2, 3 }).WaitAsync(Wait.Timeout);

        Assert.Equal(ErrorCodes.NotJoined, (await error.Task.WaitAsync(Wait.Timeout)).Code);
    }

    private sealed record Chat(string Text);
}
