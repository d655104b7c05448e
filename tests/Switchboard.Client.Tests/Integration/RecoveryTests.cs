using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class RecoveryTests
{
    private const int Total = 200;

    [Fact]
    public async Task CutConnectionsRecoverEveryPublicationExactlyOnceInOrder()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        await using var publisher = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions { Token = Tokens.Create("writer", TimeSpan.FromMinutes(5)) });
        await publisher.ConnectAsync().WaitAsync(Wait.Timeout);
        await publisher.Join("feed").Joined.WaitAsync(Wait.Timeout);

        // The reader's token source is the test's handle on its reconnects: each one waits until the
        // test has seen enough publications go out while the reader was away.
        var tokenCalls = 0;
        var attempting = Wait.Signal<bool>();
        var release = Wait.Signal<bool>();
        await using var reader = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            Backoff = Clients.FastBackoff,
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
        await reader.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = reader.Join("feed");
        await room.Joined.WaitAsync(Wait.Timeout);

        var offsets = new List<ulong>();
        var recoveries = new List<RoomRecovery>();
        var resets = 0;
        var received = 0;
        var published = 0;
        // The publisher may publish offset i once i <= allowance: normally 20 ahead of what the reader
        // received, so the cuts fall mid-stream; the test raises it while the reader is away.
        var allowance = 20;
        // And it holds 10 past each cut point until the test has made the cut.
        var cap = 60;
        var all = Wait.Signal<bool>();
        room.MessageReceived += (_, m) =>
        {
            lock (offsets)
            {
                offsets.Add(m.Offset);
            }

            var count = Interlocked.Increment(ref received);
            InterlockedMax(ref allowance, count + 20);
            if (count == Total)
            {
                all.TrySetResult(true);
            }
        };
        room.Recovered += (_, r) => { lock (recoveries) { recoveries.Add(r); } };
        room.Reset += (_, _) => Interlocked.Increment(ref resets);

        var publishing = Task.Run(async () =>
        {
            var feed = publisher.Join("feed");
            for (var i = 1; i <= Total; i++)
            {
                var offset = i;
                await Wait.UntilAsync(() => offset <= Math.Min(Volatile.Read(ref allowance), Volatile.Read(ref cap)), "the publisher may go on");
                await feed.PublishAsync(i).WaitAsync(Wait.Timeout);
                Interlocked.Increment(ref published);
            }
        });

        foreach (var at in new[] { 50, 100, 150 })
        {
            await Wait.UntilAsync(() => Volatile.Read(ref received) >= at, $"the reader received {at}");
            attempting = Wait.Signal<bool>();
            release = Wait.Signal<bool>();
            Assert.Equal(1, node.Cut("reader"));
            await attempting.Task.WaitAsync(Wait.Timeout);
            var missedFrom = Volatile.Read(ref published);
            InterlockedMax(ref allowance, missedFrom + 10);
            Volatile.Write(ref cap, missedFrom + 10);
            await Wait.UntilAsync(() => Volatile.Read(ref published) >= missedFrom + 10, "publications went out while the reader was away");
            release.TrySetResult(true);
            await Wait.UntilAsync(() => reader.State == ConnectionState.Connected, "the reader reconnected");
            Volatile.Write(ref cap, Math.Min(Total, at + 60));
        }

        await publishing.WaitAsync(Wait.Timeout);
        await all.Task.WaitAsync(Wait.Timeout);

        lock (offsets)
        {
            Assert.Equal(Enumerable.Range(1, Total).Select(i => (ulong)i), offsets);
        }

        lock (recoveries)
        {
            Assert.Equal(3, recoveries.Count);
            Assert.All(recoveries, r => Assert.True(r.Count >= 10, $"recovered {r.Count}, expected at least the 10 published while away"));
        }

        Assert.Equal(0, resets);
        Assert.Equal((ulong)Total, room.Position!.Value.Offset);
        Assert.Equal(4, Volatile.Read(ref tokenCalls));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    [Fact]
    public async Task ANodeRestartChangesTheEpochSoTheRoomIsReset()
    {
        var first = await TestNode.StartAsync();
        var port = first.Port;
        await using var client = Clients.Create(first.WsUri, "alice");
        var statuses = new List<ConnectionStatus>();
        client.StateChanged += (_, s) => { lock (statuses) { statuses.Add(s); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("lobby");
        await room.Joined.WaitAsync(Wait.Timeout);
        await room.PublishAsync("before").WaitAsync(Wait.Timeout);
        await room.PublishAsync("before").WaitAsync(Wait.Timeout);
        var before = room.Position!.Value;
        var reset = Wait.Signal<RoomReset>();
        room.Reset += (_, r) => reset.TrySetResult(r);

        await first.DisposeAsync();
        await using var second = await TestNode.StartAsync(port: port);

        var raised = await reset.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(before, raised.Previous);
        Assert.NotEqual(before.Epoch, raised.Current.Epoch);
        await Wait.UntilAsync(() => client.State == ConnectionState.Connected, "the client is connected to the new node");
        Assert.Equal(1UL, await room.PublishAsync("after").WaitAsync(Wait.Timeout));
        lock (statuses)
        {
            // The drain's 1001 asks for an immediate reconnect; the attempts after it back off.
            var drained = statuses.First(s => s.State == ConnectionState.Reconnecting);
            Assert.Equal(CloseCodes.GoingAway, drained.CloseCode);
            Assert.Equal(TimeSpan.Zero, drained.Delay);
        }
    }

    [Fact]
    public async Task AnIdleRoomRecoversWithNothingMissed()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await Clients.ConnectAsync(node, "alice", "quiet");
        var recovered = Wait.Signal<RoomRecovery>();
        client.Join("quiet").Recovered += (_, r) => recovered.TrySetResult(r);

        node.Cut("alice");

        var recovery = await recovered.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(0, recovery.Count);
    }
}
