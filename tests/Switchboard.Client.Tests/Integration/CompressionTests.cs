using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Metrics;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

/// <summary>
/// <see cref="SwitchboardClientOptions.Compression"/> against a node with compression on: the client
/// negotiates permessage-deflate only when asked, and large publications round-trip over it.
/// </summary>
[Trait("Category", "integration")]
public sealed class CompressionTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Compression:Enabled"] = "true",
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public async Task AClientNegotiatesDeflateOnlyWhenAskedAndLargeMessagesRoundTrip(bool compression, long expectedCompressed)
    {
        using var counter = new CompressedConnections(_node);
        await using var client = new SwitchboardClient(_node.WsUri, new SwitchboardClientOptions { User = "alice", Compression = compression, Backoff = Clients.FastBackoff });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var room = client.Join("big");
        await room.Joined.WaitAsync(Wait.Timeout);
        var received = Wait.Signal<RoomMessage>();
        room.MessageReceived += (_, m) => received.TrySetResult(m);
        var text = string.Concat(Enumerable.Repeat("a chat line that repeats itself; ", 200));

        await room.PublishAsync(new { text }).WaitAsync(Wait.Timeout);
        var message = await received.Task.WaitAsync(Wait.Timeout);

        Assert.Equal(text, message.Data.GetProperty("text").GetString());
        Assert.Equal(expectedCompressed, counter.Count);
    }

    /// <summary>Counts this node's <c>switchboard.connections.compressed</c> (other nodes in the process have meters of their own).</summary>
    private sealed class CompressedConnections : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public CompressedConnections(TestNode node)
        {
            var meter = node.Services.GetRequiredService<SwitchboardMetrics>().Meter;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter && instrument.Name == "switchboard.connections.compressed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
