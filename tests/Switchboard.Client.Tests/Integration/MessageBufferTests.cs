using Switchboard.Client.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class MessageBufferTests
{
    [Fact]
    public async Task AnUnreadBufferDropsTheOldestAndCountsThem()
    {
        await using var node = await TestNode.StartAsync();
        await using var publisher = await Clients.ConnectAsync(node, "alice", "busy");
        await using var reader = Clients.Create(node.WsUri, "bob", messageBuffer: 5);
        await reader.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = reader.Join("busy");
        await room.Joined.WaitAsync(Wait.Timeout);
        var drops = new List<MessagesDropped>();
        var tenth = Wait.Signal<bool>();
        room.MessagesDropped += (_, d) => { lock (drops) { drops.Add(d); } };
        room.MessageReceived += (_, m) => { if (m.Offset == 10) { tenth.TrySetResult(true); } };

        for (var i = 1; i <= 10; i++)
        {
            await publisher.Join("busy").PublishAsync(i).WaitAsync(Wait.Timeout);
        }

        await tenth.Task.WaitAsync(Wait.Timeout);
        Assert.Equal(5, room.DroppedMessages);
        lock (drops)
        {
            Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], drops.Select(d => d.Oldest.Offset));
            Assert.Equal(5, drops[^1].Total);
        }

        var kept = new List<ulong>();
        await foreach (var message in room.Messages.WithCancellation(new CancellationTokenSource(Wait.Timeout).Token))
        {
            kept.Add(message.Offset);
            if (kept.Count == 5)
            {
                break;
            }
        }

        Assert.Equal([6UL, 7UL, 8UL, 9UL, 10UL], kept);
    }

    [Fact]
    public async Task WithoutABufferOnlyTheEventDeliversAndNothingIsCountedAsDropped()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = Clients.Create(node.WsUri, "alice", messageBuffer: 0);
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("events");
        await room.Joined.WaitAsync(Wait.Timeout);
        var received = Wait.Signal<RoomMessage>();
        room.MessageReceived += (_, m) => received.TrySetResult(m);

        await room.PublishAsync("x").WaitAsync(Wait.Timeout);

        Assert.Equal(1UL, (await received.Task.WaitAsync(Wait.Timeout)).Offset);
        Assert.Equal(0, room.DroppedMessages);
        Assert.Throws<InvalidOperationException>(() => room.Messages);
    }
}
