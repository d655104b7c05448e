using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// A publication retained in the memory broker's history holds its payload once: the encoded frame
/// every member receives is the retained form, and the payload is a slice of it. Measured on the
/// managed heap, alone in the process, around retaining thousands of publications.
/// </summary>
[Trait("Category", "unit")]
[Collection(ProcessWideMeasurement.Name)]
public sealed class RetainedPublicationMemoryTests(ITestOutputHelper output)
{
    private const int Count = 2000;
    private const int PayloadBytes = 8192;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARetainedPublicationHoldsItsPayloadOnce(bool binary)
    {
        var options = new SwitchboardOptions
        {
            // Budgets out of the way: this measures what one publication holds, not what the budgets keep.
            History = { Size = Count, MaxBytesPerRoom = long.MaxValue / 4, MaxBytesPerUser = long.MaxValue / 4, MaxBytesPerNode = long.MaxValue / 4 },
        };
        var broker = new MemoryBroker(Microsoft.Extensions.Options.Options.Create(options), new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        broker.Attach(new EncodingHandler());
        await broker.SubscribeRoomAsync("lobby", CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var template = new byte[PayloadBytes];
        Array.Fill(template, (byte)'a');
        template[0] = (byte)'"';
        template[^1] = (byte)'"';

        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < Count; i++)
        {
            // A fresh array per publish, as the protocol endpoint hands over (command.Data.ToArray()).
            await broker.PublishAsync("lobby", "alice", template.ToArray(), binary, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var read = await broker.ReadStreamAsync("lobby", null, Count, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Count, read.Publications.Count);
        GC.KeepAlive(broker);

        var perPublication = (after - before) / (double)Count;
        output.WriteLine($"{(binary ? "binary" : "JSON")}: {perPublication:F0} bytes held per retained publication of a {PayloadBytes}-byte payload ({perPublication / PayloadBytes:F2}x)");
        // Held twice (the payload and its encoded frame) it would be over 2x; once, the frame's header
        // and the objects around it add a few hundred bytes.
        Assert.InRange(perPublication, PayloadBytes, PayloadBytes * 1.25);
    }

    /// <summary>A node with members: every publication's live frame is encoded, as the hub's fan-out does.</summary>
    private sealed class EncodingHandler : IBrokerHandler
    {
        public void OnPublication(Publication publication) => GC.KeepAlive(publication.LiveFrame.Data);

        public void OnDirect(string user, OutboundFrame frame)
        {
        }

        public void OnPresenceChange(string room, OutboundFrame frame)
        {
        }

        public void OnStreamLost(string room)
        {
        }

        public IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room) => [];

        public IReadOnlyCollection<string> LocalRooms() => [];
    }
}
