using System.Net.WebSockets;
using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

/// <summary>Wire behaviour pinned down against a scripted peer, where a real node cannot be made to do it on cue.</summary>
[Trait("Category", "integration")]
public sealed class FramingTests
{
    [Fact]
    public async Task SeveralMessagesInOneTextFrameAreSplitOnNewlinesAndHandledInOrder()
    {
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            await peer.SendWelcomeAsync();
            var join = await peer.ReceiveCommandAsync();
            var id = join.GetProperty("id").GetInt64();
            // The join reply, two messages and a presence event, batched as the server does.
            await peer.SendTextAsync(
                $$"""{"op":"reply","id":{{id}},"offset":0,"epoch":"e1"}""" + "\n" +
                """{"op":"message","room":"r","from":"bob","offset":1,"data":{"n":1}}""" + "\n" +
                """{"op":"message","room":"r","from":null,"offset":2,"data":[1,2]}""" + "\n" +
                """{"op":"joined","room":"r","user":"bob"}""");
            await peer.ReceiveCommandAsync();
        });
        await using var client = new SwitchboardClient(server.WsUri);
        var room = client.Join("r");
        var messages = new List<RoomMessage>();
        var presence = Wait.Signal<PresenceChange>();
        room.MessageReceived += (_, m) => { lock (messages) { messages.Add(m); } };
        room.PresenceChanged += (_, p) => presence.TrySetResult(p);

        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        await room.Joined.WaitAsync(Wait.Timeout);

        Assert.Equal(new PresenceChange("r", "bob", true), await presence.Task.WaitAsync(Wait.Timeout));
        lock (messages)
        {
            Assert.Equal([1UL, 2UL], messages.Select(m => m.Offset));
            Assert.Equal("bob", messages[0].From);
            Assert.Null(messages[1].From);
            Assert.Equal("[1,2]", messages[1].Data.GetRawText());
        }
    }

    [Fact]
    public async Task APublishWithAnIdempotencyKeyWrittenBeforeTheConnectionDropsIsWrittenAgainOnTheNext()
    {
        var keys = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            await peer.SendWelcomeAsync();
            while (true)
            {
                var command = await peer.ReceiveCommandAsync();
                var id = command.GetProperty("id").GetInt64();
                if (command.GetProperty("op").GetString() == "join")
                {
                    await peer.SendTextAsync($$"""{"op":"reply","id":{{id}},"offset":0,"epoch":"e1"}""");
                }
                else if (command.GetProperty("op").GetString() == "publish")
                {
                    keys.Enqueue(command.GetProperty("idempotencyKey").GetString()!);
                    if (keys.Count == 1)
                    {
                        // The first connection dies between the publish and its reply.
                        peer.Socket.Abort();
                        return;
                    }

                    await peer.SendTextAsync($$"""{"op":"reply","id":{{id}},"offset":7,"epoch":"e1"}""");
                }
            }
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("r");
        await room.Joined.WaitAsync(Wait.Timeout);

        var offset = await room.PublishAsync("paid", new PublishOptions { IdempotencyKey = "order-17" }).WaitAsync(Wait.Timeout);

        Assert.Equal(7UL, offset);
        Assert.Equal(["order-17", "order-17"], keys);
    }

    [Fact]
    public async Task APublishWrittenBeforeTheConnectionDropsFailsWithDisconnected()
    {
        var publishSeen = Wait.Signal<bool>();
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            await peer.SendWelcomeAsync();
            while (true)
            {
                var command = await peer.ReceiveCommandAsync();
                if (command.GetProperty("op").GetString() == "join")
                {
                    await peer.SendTextAsync($$"""{"op":"reply","id":{{command.GetProperty("id").GetInt64()}},"offset":0,"epoch":"e1"}""");
                }
                else if (command.GetProperty("op").GetString() == "publish" && publishSeen.TrySetResult(true))
                {
                    // The command arrived; the connection dies before any reply.
                    peer.Socket.Abort();
                    return;
                }
            }
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("r");
        await room.Joined.WaitAsync(Wait.Timeout);

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => room.PublishAsync("lost?").WaitAsync(Wait.Timeout));

        Assert.Equal(ClientErrorCodes.Disconnected, error.Code);
        Assert.True(publishSeen.Task.IsCompleted);
    }

    [Fact]
    public async Task ACloseCodeOf4500OrMoreStopsTheClientForGood()
    {
        var connections = 0;
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            Interlocked.Increment(ref connections);
            await peer.SendWelcomeAsync();
            await peer.Socket.CloseOutputAsync((WebSocketCloseStatus)CloseCodes.RateLimited, "slow down", CancellationToken.None).WaitAsync(Wait.Timeout);
            // Linger until the client's close answers ours, so the socket's teardown cannot destroy the close frame.
            await peer.DrainUntilCloseAsync();
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        var closed = Wait.Signal<ConnectionStatus>();
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Closed) { closed.TrySetResult(s); } };

        // The close may come before or after the client counts itself connected: either way it ends for good.
        var connecting = client.ConnectAsync();
        var status = await closed.Task.WaitAsync(Wait.Timeout);
        await Record.ExceptionAsync(() => connecting.WaitAsync(Wait.Timeout));

        Assert.Equal(CloseCodes.RateLimited, status.CloseCode);
        Assert.Equal("slow down", status.CloseReason);
        Assert.Equal(1, Volatile.Read(ref connections));
    }

    [Fact]
    public async Task ADroppedConnectionIsRetriedWithBackoffReportingAttemptAndDelay()
    {
        var connections = 0;
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            if (Interlocked.Increment(ref connections) <= 3)
            {
                // Accepted and dropped at once, before any welcome: three failed attempts in a row.
                peer.Socket.Abort();
                return;
            }

            await peer.SendWelcomeAsync();
            await peer.ReceiveCommandAsync();
        });
        var statuses = new List<ConnectionStatus>();
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions { Backoff = Clients.FastBackoff });
        client.StateChanged += (_, s) => { lock (statuses) { statuses.Add(s); } };

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        lock (statuses)
        {
            var retries = statuses.Where(s => s.State == ConnectionState.Reconnecting).ToList();
            Assert.Equal([1, 2, 3], retries.Select(s => s.Attempt));
            Assert.All(retries, s => Assert.InRange(s.Delay!.Value, TimeSpan.Zero, Clients.FastBackoff.Cap));
            Assert.Equal(ConnectionState.Connected, statuses[^1].State);
        }
    }

    [Fact]
    public async Task APeerThatStopsAnsweringPingsIsDroppedAndReconnected()
    {
        var connections = 0;
        var release = Wait.Signal<bool>();
        await using var server = await FakeServer.StartAsync(async peer =>
        {
            await peer.SendWelcomeAsync();
            if (Interlocked.Increment(ref connections) == 1)
            {
                // Never reads again, so never answers a ping: a node that froze with the socket open.
                await release.Task.WaitAsync(Wait.Timeout);
                return;
            }

            await peer.DrainUntilCloseAsync();
        });
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions
        {
            Backoff = Clients.FastBackoff,
            KeepAliveInterval = TimeSpan.FromMilliseconds(200),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(300),
        });
        var dropped = Wait.Signal<ConnectionStatus>();
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Reconnecting) { dropped.TrySetResult(s); } };

        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var status = await dropped.Task.WaitAsync(Wait.Timeout);
        release.TrySetResult(true);

        Assert.Equal(1006, status.CloseCode);
        await Wait.UntilAsync(() => Volatile.Read(ref connections) == 2 && client.State == ConnectionState.Connected, "the client reconnected");
    }
}
