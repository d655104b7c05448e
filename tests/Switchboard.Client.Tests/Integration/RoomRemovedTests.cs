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
}
