using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

/// <summary>
/// Clients whose WebSocket upgrade is refused (as by a proxy that does not forward it) against a real
/// node: they fall back to server-sent events in the same attempt and everything else works as on /ws.
/// </summary>
[Trait("Category", "integration")]
public sealed class ServerSentEventsTests
{
    private const int Count = 30;

    [Fact]
    public async Task AClientWhoseWebSocketIsRefusedChatsOverServerSentEvents()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        using var handler = new TransportHandler { RefuseWebSockets = true };
        var statuses = new List<ConnectionStatus>();
        await using var alice = Create(node, "alice", handler);
        alice.StateChanged += (_, s) => { lock (statuses) { statuses.Add(s); } };
        await using var bob = Create(node, "bob");

        await alice.ConnectAsync().WaitAsync(Wait.Timeout);
        await bob.ConnectAsync().WaitAsync(Wait.Timeout);

        Assert.Equal(ClientTransport.ServerSentEvents, alice.Status.Transport);
        Assert.Equal(ClientTransport.ServerSentEvents, alice.Transport);
        Assert.Equal(ClientTransport.WebSocket, bob.Status.Transport);
        Assert.Equal("alice", alice.User);
        Assert.Equal(1, handler.WebSocketAttempts);
        lock (statuses)
        {
            // The refused WebSocket handed the same attempt to SSE: no reconnect in between.
            Assert.DoesNotContain(statuses, s => s.State == ConnectionState.Reconnecting);
        }

        var aliceRoom = alice.Join("lobby");
        var bobRoom = bob.Join("lobby");
        await aliceRoom.Joined.WaitAsync(Wait.Timeout);
        await bobRoom.Joined.WaitAsync(Wait.Timeout);

        var aliceGot = Collect(aliceRoom, Count * 2, out var aliceAll);
        var bobGot = Collect(bobRoom, Count * 2, out var bobAll);
        // Published without awaiting each reply, so several commands wait for one POST and share it.
        var aliceSends = Enumerable.Range(0, Count).Select(i => aliceRoom.PublishAsync(new { from = "alice", i })).ToList();
        await Task.WhenAll(aliceSends).WaitAsync(Wait.Timeout);
        for (var i = 0; i < Count; i++)
        {
            await bobRoom.PublishAsync(new { from = "bob", i }).WaitAsync(Wait.Timeout);
        }

        await aliceAll.WaitAsync(Wait.Timeout);
        await bobAll.WaitAsync(Wait.Timeout);
        Assert.True(handler.Posts < Count, $"commands that waited were batched into fewer POSTs ({handler.Posts})");
        var expected = Enumerable.Range(0, Count).Select(i => ("alice", i)).Concat(Enumerable.Range(0, Count).Select(i => ("bob", i))).ToList();
        Assert.Equal(expected, Read(aliceGot));
        Assert.Equal(expected, Read(bobGot));
        Assert.Equal(aliceGot.Select(m => m.Offset).Order(), aliceGot.Select(m => m.Offset));

        var presence = await aliceRoom.PresenceAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(["alice", "bob"], presence.Keys.Order());
        var history = await aliceRoom.HistoryAsync(limit: 5).WaitAsync(Wait.Timeout);
        Assert.Equal(Enumerable.Range(Count - 5, 5), history.Messages.Select(m => m.Data.GetProperty("i").GetInt32()));

        var toAlice = Wait.Signal<DirectMessage>();
        var toBob = Wait.Signal<DirectMessage>();
        alice.DirectReceived += (_, d) => toAlice.TrySetResult(d);
        bob.DirectReceived += (_, d) => toBob.TrySetResult(d);
        await alice.SendAsync("bob", new { text = "hi bob" }).WaitAsync(Wait.Timeout);
        await bob.SendAsync("alice", new { text = "hi alice" }).WaitAsync(Wait.Timeout);
        Assert.Equal("alice", (await toBob.Task.WaitAsync(Wait.Timeout)).From);
        var direct = await toAlice.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(("bob", "hi alice"), (direct.From, direct.Data.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task AStreamCutFromTheClientsSideRecoversWhatWasMissedOnServerSentEvents()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        using var handler = new TransportHandler { RefuseWebSockets = true };
        // The reader's token source holds its reconnect until the test has published while it was away.
        var tokenCalls = 0;
        var attempting = Wait.Signal<bool>();
        var release = Wait.Signal<bool>();
        await using var reader = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            Backoff = Clients.FastBackoff,
            HttpMessageHandler = handler,
            GetToken = async ct =>
            {
                if (Interlocked.Increment(ref tokenCalls) > 1)
                {
                    attempting.TrySetResult(true);
                    await release.Task.WaitAsync(Wait.Timeout, ct);
                }

                return Tokens.Create("reader", TimeSpan.FromMinutes(5));
            },
        });
        await using var writer = Create(node, "writer");
        await reader.ConnectAsync().WaitAsync(Wait.Timeout);
        await writer.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = reader.Join("feed");
        var feed = writer.Join("feed");
        await room.Joined.WaitAsync(Wait.Timeout);
        await feed.Joined.WaitAsync(Wait.Timeout);
        var recovered = Wait.Signal<RoomRecovery>();
        room.Recovered += (_, r) => recovered.TrySetResult(r);
        var got = Collect(room, 20, out var all);
        for (var i = 0; i < 10; i++)
        {
            await feed.PublishAsync(new { i }).WaitAsync(Wait.Timeout);
        }

        await Wait.UntilAsync(() => { lock (got) { return got.Count == 10; } }, "the reader received the first ten");
        var firstSession = reader.SessionId;

        handler.CutStreams();
        await attempting.Task.WaitAsync(Wait.Timeout);
        for (var i = 10; i < 20; i++)
        {
            await feed.PublishAsync(new { i }).WaitAsync(Wait.Timeout);
        }

        release.TrySetResult(true);
        await all.WaitAsync(Wait.Timeout);
        Assert.Equal(10, (await recovered.Task.WaitAsync(Wait.Timeout)).Count);
        lock (got)
        {
            Assert.Equal(Enumerable.Range(0, 20), got.Select(m => m.Data.GetProperty("i").GetInt32()));
        }

        Assert.NotEqual(firstSession, reader.SessionId);
        // The recovered messages come with the re-join, which may run before the client reports itself connected.
        await Wait.UntilAsync(() => reader.Status.State == ConnectionState.Connected, "the reader is connected again");
        Assert.Equal(ClientTransport.ServerSentEvents, reader.Status.Transport);
        // Within WebSocketRetry of the fallback the reconnect went straight to SSE.
        Assert.Equal(1, handler.WebSocketAttempts);
        Assert.Equal(2, handler.StreamsOpened);
    }

    [Fact]
    public async Task WithAWebSocketAvailableTheClientUsesIt()
    {
        await using var node = await TestNode.StartAsync();
        using var handler = new TransportHandler();
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions { User = "alice", HttpMessageHandler = handler });

        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        await client.Join("lobby").Joined.WaitAsync(Wait.Timeout);

        Assert.Equal(ClientTransport.WebSocket, client.Status.Transport);
        Assert.Equal(1, handler.WebSocketAttempts);
        Assert.Equal(0, handler.StreamsOpened);
    }

    [Fact]
    public async Task AnInvalidTokenOnServerSentEventsClosesWith4501AndTheClientDoesNotReconnect()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        using var handler = new TransportHandler { RefuseWebSockets = true };
        var calls = 0;
        var statuses = new List<ConnectionStatus>();
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            HttpMessageHandler = handler,
            Backoff = Clients.FastBackoff,
            GetToken = _ =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.FromResult(Tokens.Create("alice", TimeSpan.FromMinutes(5), secret: "a-different-secret-that-is-long-enough-0123"));
            },
        });
        client.StateChanged += (_, s) => { lock (statuses) { statuses.Add(s); } };

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => client.ConnectAsync().WaitAsync(Wait.Timeout));

        Assert.Equal(ClientErrorCodes.Closed, error.Code);
        Assert.Equal(CloseCodes.Unauthorized, error.CloseCode);
        Assert.Equal(CloseCodes.Unauthorized, client.Status.CloseCode);
        Assert.Equal(1, calls);
        Assert.Equal(1, handler.StreamsOpened);
        lock (statuses)
        {
            Assert.DoesNotContain(statuses, s => s.State == ConnectionState.Reconnecting);
        }
    }

    [Fact]
    public async Task ABinaryPublishOverServerSentEventsFailsWithBinaryUnsupported()
    {
        await using var node = await TestNode.StartAsync();
        using var handler = new TransportHandler { RefuseWebSockets = true };
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions { User = "alice", HttpMessageHandler = handler });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("lobby");
        await room.Joined.WaitAsync(Wait.Timeout);

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => room.PublishAsync(new byte[] { 1, 2, 3 }).WaitAsync(Wait.Timeout));

        Assert.Equal(ClientErrorCodes.BinaryUnsupported, error.Code);
        // The connection carries on.
        Assert.Equal(1UL, await room.PublishAsync(new { after = true }).WaitAsync(Wait.Timeout));
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task AfterWebSocketRetryTheClientTriesTheWebSocketFirstAgain()
    {
        await using var node = await TestNode.StartAsync();
        using var handler = new TransportHandler { RefuseWebSockets = true };
        var time = new FakeTimeProvider();
        await using var client = new SwitchboardClient(
            node.WsUri,
            new SwitchboardClientOptions { User = "alice", HttpMessageHandler = handler, Backoff = Clients.FastBackoff, WebSocketRetry = TimeSpan.FromSeconds(60) },
            Random.Shared,
            time);
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(ClientTransport.ServerSentEvents, client.Status.Transport);
        Assert.Equal(1, handler.WebSocketAttempts);

        // Within the window: straight to SSE.
        time.Advance(TimeSpan.FromSeconds(59));
        await CutAndReconnectAsync(node, client);
        Assert.Equal(1, handler.WebSocketAttempts);
        Assert.Equal(ClientTransport.ServerSentEvents, client.Status.Transport);

        // Past it: the WebSocket first (still refused, so SSE again, and a new window starts).
        time.Advance(TimeSpan.FromSeconds(2));
        await CutAndReconnectAsync(node, client);
        Assert.Equal(2, handler.WebSocketAttempts);
        Assert.Equal(ClientTransport.ServerSentEvents, client.Status.Transport);

        // Once the proxy lets upgrades through, the next try after the window is a WebSocket.
        handler.RefuseWebSockets = false;
        time.Advance(TimeSpan.FromSeconds(61));
        await CutAndReconnectAsync(node, client);
        Assert.Equal(3, handler.WebSocketAttempts);
        Assert.Equal(ClientTransport.WebSocket, client.Status.Transport);
    }

    [Fact]
    public async Task AnExpiringTokenIsRefreshedAndLaterPostsCarryTheNewOne()
    {
        // No clock skew: once the first token expires, a POST still carrying it would be refused.
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings(clockSkewSeconds: 0));
        using var handler = new TransportHandler { RefuseWebSockets = true };
        var calls = 0;
        string? first = null;
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            HttpMessageHandler = handler,
            Backoff = Clients.FastBackoff,
            GetToken = _ =>
            {
                var call = Interlocked.Increment(ref calls);
                var token = Tokens.Create("alice", call == 1 ? TimeSpan.FromSeconds(3) : TimeSpan.FromMinutes(5));
                first ??= token;
                return ValueTask.FromResult(token);
            },
        });
        var reconnects = 0;
        client.StateChanged += (_, s) => { if (s.State is ConnectionState.Reconnecting or ConnectionState.Closed) { Interlocked.Increment(ref reconnects); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(ClientTransport.ServerSentEvents, client.Transport);
        var session = client.SessionId;
        var firstExpiry = JwtExpiry.Read(first!)!.Value;
        var room = client.Join("r");
        await room.Joined.WaitAsync(Wait.Timeout);

        await Wait.UntilAsync(() => Volatile.Read(ref calls) >= 2, "the client fetched a token for the refresh");
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > firstExpiry.AddMilliseconds(500), "the first token expired");
        await room.PublishAsync("still here").WaitAsync(Wait.Timeout);

        Assert.Equal(session, client.SessionId);
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal(0, Volatile.Read(ref reconnects));
    }

    private static async Task CutAndReconnectAsync(TestNode node, SwitchboardClient client)
    {
        var session = client.SessionId;
        await Wait.UntilAsync(() => node.Cut(client.User!) == 1, "the server-side session was cut");
        await Wait.UntilAsync(() => client.State == ConnectionState.Connected && client.SessionId != session, "the client reconnected");
    }

    private static SwitchboardClient Create(TestNode node, string user, TransportHandler? handler = null) =>
        new(node.WsUri, new SwitchboardClientOptions
        {
            Token = Tokens.Create(user, TimeSpan.FromMinutes(5)),
            Backoff = Clients.FastBackoff,
            HttpMessageHandler = handler,
        });

    private static List<RoomMessage> Collect(SwitchboardRoom room, int count, out Task all)
    {
        var got = new List<RoomMessage>();
        var done = Wait.Signal<bool>();
        room.MessageReceived += (_, m) =>
        {
            lock (got)
            {
                got.Add(m);
                if (got.Count == count)
                {
                    done.TrySetResult(true);
                }
            }
        };
        all = done.Task;
        return got;
    }

    private static List<(string, int)> Read(List<RoomMessage> messages)
    {
        lock (messages)
        {
            return [.. messages.Select(m => (m.Data.GetProperty("from").GetString()!, m.Data.GetProperty("i").GetInt32()))];
        }
    }
}
