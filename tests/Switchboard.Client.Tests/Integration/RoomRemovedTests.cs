using System.Text.Json;
using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

/// <summary>
/// The server's <c>removed</c> message (a refreshed token no longer grants the room): the room is
/// marked left, raises <see cref="SwitchboardRoom.Removed"/>, delivers nothing more, and is not
/// joined again after a reconnect.
/// </summary>
[Trait("Category", "integration")]
public sealed class RoomRemovedTests
{
    [Fact]
    public async Task ARoomTheServerRemovedIsLeftRaisesRemovedAndIsNotRejoinedAfterAReconnect()
    {
        var rejoined = Wait.Signal<string[]>();
        var connections = 0;
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            if (Interlocked.Increment(ref connections) == 1)
            {
                await peer.SendWelcomeAsync();
                var first = await peer.ReceiveCommandAsync();
                var second = await peer.ReceiveCommandAsync();
                await peer.SendTextAsync(
                    $$"""{"op":"reply","id":{{first.GetProperty("id").GetInt64()}},"offset":0,"epoch":"e1"}""" + "\n" +
                    $$"""{"op":"reply","id":{{second.GetProperty("id").GetInt64()}},"offset":0,"epoch":"e1"}""" + "\n" +
                    """{"op":"removed","room":"r","code":"forbidden","message":"the refreshed token no longer allows r"}""" + "\n" +
                    """{"op":"message","room":"r","from":"bob","offset":1,"data":1}""" + "\n" +
                    """{"op":"message","room":"k","from":"bob","offset":1,"data":2}""");
                // Ends this connection: the client reconnects and joins again what it still holds.
                await peer.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "restart", CancellationToken.None);
                await peer.DrainUntilCloseAsync();
                return;
            }

            await peer.SendWelcomeAsync();
            // A client sends its joins first, then what it queued: everything before the send is a join.
            var joins = new List<string>();
            while (true)
            {
                var command = await peer.ReceiveCommandAsync();
                if (command.GetProperty("op").GetString() == "send")
                {
                    await peer.SendTextAsync($$"""{"op":"reply","id":{{command.GetProperty("id").GetInt64()}}}""");
                    break;
                }

                joins.Add(command.GetProperty("room").GetString()!);
            }

            rejoined.TrySetResult([.. joins]);
            await peer.DrainUntilCloseAsync();
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        var room = client.Join("r");
        var kept = client.Join("k");
        var removed = Wait.Signal<RoomRemoved>();
        var keptMessage = Wait.Signal<RoomMessage>();
        var delivered = 0;
        room.Removed += (_, r) => removed.TrySetResult(r);
        room.MessageReceived += (_, _) => Interlocked.Increment(ref delivered);
        kept.MessageReceived += (_, m) => keptMessage.TrySetResult(m);

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        Assert.Equal(new RoomRemoved("r", ErrorCodes.Forbidden, "the refreshed token no longer allows r"), await removed.Task.WaitAsync(Wait.Timeout));
        // Sent after the removal, in the same frame: the kept room's message proves it was handled.
        await keptMessage.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(0, Volatile.Read(ref delivered));
        await client.SendAsync("bob", 1).WaitAsync(Wait.Timeout);
        Assert.Equal(["k"], await rejoined.Task.WaitAsync(Wait.Timeout));
    }

    [Fact]
    public async Task ARoomWhoseStreamTheServerLostIsJoinedAgainWithItsPositionAndRaisesResetNotRemoved()
    {
        var rejoin = Wait.Signal<JsonElement>();
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            await peer.SendWelcomeAsync();
            // The client joins its rooms in no set order.
            var joins = new[] { await peer.ReceiveCommandAsync(), await peer.ReceiveCommandAsync() };
            var r = joins.Single(j => j.GetProperty("room").GetString() == "r").GetProperty("id").GetInt64();
            var k = joins.Single(j => j.GetProperty("room").GetString() == "k").GetProperty("id").GetInt64();
            await peer.SendTextAsync(
                $$"""{"op":"reply","id":{{r}},"offset":4,"epoch":"old"}""" + "\n" +
                $$"""{"op":"reply","id":{{k}},"offset":0,"epoch":"e1"}""" + "\n" +
                """{"op":"message","room":"r","from":"bob","offset":5,"data":5}""" + "\n" +
                """{"op":"removed","room":"r","code":"stream_lost","message":"lost","rejoin":true}""" + "\n" +
                // The new epoch's first offset, before the re-join's reply: not delivered (the reply covers it).
                """{"op":"message","room":"r","from":"bob","offset":1,"data":1}""" + "\n" +
                """{"op":"message","room":"k","from":"bob","offset":1,"data":100}""");
            var again = await peer.ReceiveCommandAsync();
            rejoin.TrySetResult(again.Clone());
            await peer.SendTextAsync(
                $$"""{"op":"reply","id":{{again.GetProperty("id").GetInt64()}},"room":"r","offset":1,"epoch":"new","recovered":false,"publications":[{"room":"r","from":"bob","offset":1,"data":1}]}""" + "\n" +
                """{"op":"message","room":"r","from":"bob","offset":2,"data":2}""");
            await peer.DrainUntilCloseAsync();
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        var room = client.Join("r");
        var kept = client.Join("k");
        var reset = Wait.Signal<RoomReset>();
        var removed = 0;
        var delivered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var second = Wait.Signal<RoomMessage>();
        room.Reset += (_, r) => reset.TrySetResult(r);
        room.Removed += (_, _) => Interlocked.Increment(ref removed);
        room.MessageReceived += (_, m) =>
        {
            delivered.Enqueue($"r:{m.Offset}");
            if (m.Offset == 2)
            {
                second.TrySetResult(m);
            }
        };
        kept.MessageReceived += (_, m) => delivered.Enqueue($"k:{m.Offset}");

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        var command = await rejoin.Task.WaitAsync(Wait.Timeout);
        Assert.Equal("join", command.GetProperty("op").GetString());
        Assert.Equal("r", command.GetProperty("room").GetString());
        Assert.Equal(5UL, command.GetProperty("since").GetProperty("offset").GetUInt64());
        Assert.Equal("old", command.GetProperty("since").GetProperty("epoch").GetString());
        Assert.Equal(new RoomReset("r", new StreamPosition(5, "old"), new StreamPosition(1, "new")), await reset.Task.WaitAsync(Wait.Timeout));
        await second.Task.WaitAsync(Wait.Timeout);
        // The publication the re-join's reply retained is delivered after Reset; the live copy before the reply was not.
        Assert.Equal(["r:5", "k:1", "r:1", "r:2"], delivered);
        Assert.Equal(0, Volatile.Read(ref removed));
    }
}
