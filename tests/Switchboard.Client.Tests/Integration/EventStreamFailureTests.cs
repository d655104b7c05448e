using Switchboard.Client.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

/// <summary>How the client reads an event stream's failures, against a scripted server whose /ws refuses the upgrade.</summary>
[Trait("Category", "integration")]
public sealed class EventStreamFailureTests
{
    [Fact]
    public async Task AStreamThatEndsWithoutACloseMessageIsADropThatReconnects()
    {
        await using var server = await FakeEventServer.StartAsync(
            // Every stream ends right after its welcome, without a close message.
            stream => stream.SendWelcomeAsync(),
            _ => 202);
        var reconnecting = Wait.Signal<ConnectionStatus>();
        await using var client = Create(server.WsUri);
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Reconnecting) { reconnecting.TrySetResult(s); } };

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        var status = await reconnecting.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(1006, status.CloseCode);
        await Wait.UntilAsync(() => server.StreamsOpened >= 2, "the client opened a new stream");
    }

    [Fact]
    public async Task ACloseMessageGivesTheCloseCodeAndOneThatForbidsReconnectingEndsTheClient()
    {
        await using var server = await FakeEventServer.StartAsync(
            async stream =>
            {
                await stream.SendWelcomeAsync();
                await stream.SendAsync("""{"op":"close","code":4502,"reason":"banned"}""");
            },
            _ => 202);
        var closed = Wait.Signal<ConnectionStatus>();
        await using var client = Create(server.WsUri);
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Closed) { closed.TrySetResult(s); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout).ContinueWith(_ => { }, TaskScheduler.Default);

        var status = await closed.Task.WaitAsync(Wait.Timeout);

        Assert.Equal((4502, "banned"), (status.CloseCode, status.CloseReason));
        Assert.Equal(1, server.StreamsOpened);
    }

    [Fact]
    public async Task APostAnswered413ClosesTheClientWith1009()
    {
        await using var server = await FakeEventServer.StartAsync(
            async stream =>
            {
                await stream.SendWelcomeAsync();
                await stream.HoldAsync();
            },
            _ => 413);
        var closed = Wait.Signal<ConnectionStatus>();
        await using var client = Create(server.WsUri);
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Closed) { closed.TrySetResult(s); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        var send = client.SendAsync("bob", new { text = "too big" });

        Assert.Equal(1009, (await closed.Task.WaitAsync(Wait.Timeout)).CloseCode);
        await Assert.ThrowsAsync<SwitchboardException>(() => send.WaitAsync(Wait.Timeout));
        Assert.Equal(1, server.StreamsOpened);
    }

    [Fact]
    public async Task AStreamSilentPastItsHeartbeatIsDroppedAndReconnected()
    {
        await using var server = await FakeEventServer.StartAsync(
            async stream =>
            {
                // A heartbeat every second is promised, and none comes.
                await stream.SendWelcomeAsync(ping: 1);
                await stream.HoldAsync();
            },
            _ => 202);
        var reconnecting = Wait.Signal<ConnectionStatus>();
        await using var client = new SwitchboardClient(server.WsUri, new SwitchboardClientOptions
        {
            User = "alice",
            Backoff = Clients.FastBackoff,
            KeepAliveTimeout = TimeSpan.FromMilliseconds(200),
        });
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Reconnecting) { reconnecting.TrySetResult(s); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(ClientTransport.ServerSentEvents, client.Transport);

        Assert.Equal(1006, (await reconnecting.Task.WaitAsync(Wait.Timeout)).CloseCode);
        await Wait.UntilAsync(() => server.StreamsOpened >= 2, "the client opened a new stream");
    }

    private static SwitchboardClient Create(Uri uri) =>
        new(uri, new SwitchboardClientOptions { User = "alice", Backoff = Clients.FastBackoff });
}
