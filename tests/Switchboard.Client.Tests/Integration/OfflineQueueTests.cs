using Switchboard.Client.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class OfflineQueueTests
{
    [Fact]
    public async Task SendsMadeBeforeConnectingGoOutInOrderAndOverflowRejectsTheOldest()
    {
        await using var node = await TestNode.StartAsync();
        await using var watcher = await Clients.ConnectAsync(node, "watcher", "queued");
        await using var client = Clients.Create(node.WsUri, "alice", offlineQueue: 3);
        var room = client.Join("queued");

        var publishes = Enumerable.Range(1, 5).Select(i => room.PublishAsync(i)).ToList();

        foreach (var dropped in publishes.Take(2))
        {
            var error = await Assert.ThrowsAsync<SwitchboardException>(() => dropped.WaitAsync(Wait.Timeout));
            Assert.Equal(ClientErrorCodes.OfflineQueueFull, error.Code);
        }

        Assert.False(publishes[2].IsCompleted);
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var offsets = await Task.WhenAll(publishes.Skip(2)).WaitAsync(Wait.Timeout);
        Assert.Equal([1UL, 2UL, 3UL], offsets);

        var seen = new List<int>();
        await foreach (var message in watcher.Join("queued").Messages.WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            seen.Add(message.Deserialize<int>());
            if (seen.Count == 3)
            {
                break;
            }
        }

        Assert.Equal([3, 4, 5], seen);
    }

    [Fact]
    public async Task SendsMadeWhileReconnectingAreDeliveredAfterTheRoomIsRejoined()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        var release = Wait.Signal<bool>();
        var attempting = Wait.Signal<bool>();
        var calls = 0;
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            Backoff = Clients.FastBackoff,
            GetToken = async ct =>
            {
                if (Interlocked.Increment(ref calls) > 1)
                {
                    attempting.TrySetResult(true);
                    await release.Task.WaitAsync(Wait.Timeout, ct);
                }

                return Tokens.Create("alice", TimeSpan.FromMinutes(5));
            },
        });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("later");
        await room.Joined.WaitAsync(Wait.Timeout);

        node.Cut("alice");
        await attempting.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(ConnectionState.Reconnecting, client.State);
        var queued = new[] { room.PublishAsync("a"), room.PublishAsync("b") };
        var fresh = client.Join("fresh");
        var queuedToFresh = fresh.PublishAsync("c");
        release.TrySetResult(true);

        var offsets = await Task.WhenAll(queued).WaitAsync(Wait.Timeout);
        Assert.Equal([1UL, 2UL], offsets);
        Assert.Equal(1UL, await queuedToFresh.WaitAsync(Wait.Timeout));
    }

    [Fact]
    public async Task ACancelledPublishIsRemovedFromTheQueueAndNeverSent()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = Clients.Create(node.WsUri, "alice");
        var room = client.Join("cancel");
        using var cancel = new CancellationTokenSource();

        var cancelled = room.PublishAsync("never", cancel.Token);
        var kept = room.PublishAsync("kept");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Wait.Timeout));
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(1UL, await kept.WaitAsync(Wait.Timeout));
        var history = await room.HistoryAsync().WaitAsync(Wait.Timeout);
        Assert.Equal(["kept"], history.Messages.Select(m => m.Deserialize<string>()));
    }

    [Fact]
    public async Task APublishWithAnAlreadyCancelledTokenThrowsAtOnce()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await Clients.ConnectAsync(node, "alice", "cancel");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Join("cancel").PublishAsync("x", new CancellationToken(canceled: true)).WaitAsync(Wait.Timeout));
    }

    [Fact]
    public async Task QueriesFailAtOnceWhileDisconnected()
    {
        await using var client = Clients.Create(new Uri("ws://127.0.0.1:9/ws"), "alice");
        var room = client.Join("offline");

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => room.PresenceAsync().WaitAsync(Wait.Timeout));

        Assert.Equal(ClientErrorCodes.Disconnected, error.Code);
    }

    [Fact]
    public async Task DisposingFailsWhatIsStillQueuedWithClosed()
    {
        var client = Clients.Create(new Uri("ws://127.0.0.1:9/ws"), "alice");
        var queued = client.Join("offline").PublishAsync("x");

        await client.DisposeAsync().AsTask().WaitAsync(Wait.Timeout);

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => queued.WaitAsync(Wait.Timeout));
        Assert.Equal(ClientErrorCodes.Closed, error.Code);
        Assert.Equal(ConnectionState.Closed, client.State);
    }

    [Fact]
    public async Task DisposingAConnectedClientClosesWithAHandshakeAndEndsItsRooms()
    {
        await using var node = await TestNode.StartAsync();
        var client = await Clients.ConnectAsync(node, "alice", "bye");
        var room = client.Join("bye");
        // Joined just before the close: whatever the server managed to answer, its Joined task ends.
        var late = client.Join("late");

        await client.DisposeAsync().AsTask().WaitAsync(Wait.Timeout);

        Assert.Equal(ConnectionState.Closed, client.State);
        Assert.Equal(1000, client.Status.CloseCode);
        await node.Registry.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Wait.Timeout);
        var drained = new List<RoomMessage>();
        await foreach (var message in room.Messages.WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            drained.Add(message);
        }

        Assert.Empty(drained);
        Assert.True(late.Joined.IsCompleted);
        Assert.Throws<SwitchboardException>(() => client.Join("after"));
        await client.DisposeAsync().AsTask().WaitAsync(Wait.Timeout);
    }
}
