using Microsoft.Extensions.Logging;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A peer that reads for a while and then stops, with messages still flowing to it: its kernel
/// buffers fill, then its bounded outbound queue, and it is dropped as a slow consumer with
/// everything it held, while the other members receive every publication in order.
/// </summary>
[Trait("Category", "integration")]
public sealed class StalledReaderTests
{
    private const string Room = "stream";

    // Reading this many publications first shows the peer was a healthy member before it stalled.
    private const int ReadBeforeStalling = 5;

    // Far more than the kernel buffers and the small queue can hold: reaching it means the peer was never dropped.
    private const int MaxPublications = 2_000;

    private static readonly string Padding = new('p', 8 * 1024);

    [Fact]
    public async Task PeerThatStopsReadingMidStreamIsDroppedWhileOthersReceiveEveryPublicationInOrder()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxQueuedMessages"] = "64",
            ["Switchboard:Limits:MaxQueuedBytes"] = "65536",
            // The stalled peer never completes a close handshake; this is how long it gets.
            ["Switchboard:Limits:CloseTimeoutSeconds"] = "0.5",
        }, logs);
        await using var publisher = await JoinedClientAsync(server, "publisher");
        await using var reader = await JoinedClientAsync(server, "reader");
        using var stalled = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws?user=stalled", receiveBufferBytes: 4096);
        await stalled.SendTextAsync($$"""{"op":"join","room":"{{Room}}","id":1}""");
        await stalled.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));

        var published = 0;
        for (; published < ReadBeforeStalling; published++)
        {
            await PublishAsync(publisher, published + 1);
            var offset = $"\"offset\":{published + 1},";
            await stalled.ReadLineAsync(line => line.Contains(offset, StringComparison.Ordinal));
        }

        // From here on the peer reads nothing, and the publisher keeps going.
        while (await SlowConsumerDisconnectsAsync(server) == 0)
        {
            Assert.True(published < MaxPublications, $"the stalled peer was not dropped after {published} publications");
            await PublishAsync(publisher, ++published);
        }

        await Eventually.TrueAsync(() => server.Registry.Count == 2, "the stalled peer has left the registry");
        Assert.Equal(1, await SlowConsumerDisconnectsAsync(server));
        Assert.Equal(["publisher", "reader"], (await server.Hub.PresenceAsync(Room, CancellationToken.None)).Select(p => p.Key));
        Assert.Equal(2, server.Hub.UserCount);
        Assert.Equal("stalled", (await reader.ExpectAsync("left")).GetProperty("user").GetString());
        foreach (var member in new[] { reader, publisher })
        {
            for (var n = 1; n <= published; n++)
            {
                var message = await member.ExpectAsync("message");
                Assert.Equal((ulong)n, message.GetProperty("offset").GetUInt64());
                Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
            }
        }

        Assert.True(await stalled.ReadUntilDisconnectedAsync(), "the server closed the stalled peer's TCP connection");
        await Eventually.TrueAsync(() => server.Registry.Snapshot().Sum(c => c.QueuedBytes) == 0, "no bytes are left queued");
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Id == 1003);
        logs.AssertNoErrors();
    }

    private static async Task<ProtocolClient> JoinedClientAsync(TestServer server, string user)
    {
        var client = await server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        return client;
    }

    private static async Task PublishAsync(ProtocolClient publisher, int n)
    {
        var reply = await publisher.RequestAsync($$$"""{"op":"publish","room":"{{{Room}}}","data":{"n":{{{n}}},"pad":"{{{Padding}}}"}}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal((ulong)n, reply.GetProperty("offset").GetUInt64());
    }

    private static async Task<double> SlowConsumerDisconnectsAsync(TestServer server) =>
        (await MetricsScrape.ReadAsync(server))["switchboard_slow_consumer_disconnects_total"] ?? 0;
}
