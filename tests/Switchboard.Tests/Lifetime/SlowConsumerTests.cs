using System.Net.WebSockets;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>
/// A member that stops reading fills its bounded outbound queue and is closed as a slow consumer
/// (4000); the publisher and the members that do read never notice.
/// </summary>
[Trait("Category", "integration")]
public sealed class SlowConsumerTests
{
    private const string Room = "firehose";

    // Large, so that the stalled peer's small TCP window and the server's send buffer (which grows to
    // a few MiB on loopback) fill within a couple of hundred publications; its queue then has to hold the rest.
    private static readonly string Padding = new('x', 16 * 1024);

    // Far more than the kernel buffers and the 50-message queue can absorb: reaching it means the
    // slow consumer was never closed.
    private const int MaxPublications = 2000;

    private static Dictionary<string, string?> Settings(double closeTimeoutSeconds) => new()
    {
        ["Switchboard:Limits:MaxQueuedMessages"] = "50",
        ["Switchboard:Limits:MaxQueuedBytes"] = "131072",
        ["Switchboard:Limits:CloseTimeoutSeconds"] = closeTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task MemberThatNeverReadsIsDisconnectedWhileOthersReceiveEveryPublication()
    {
        await using var server = await TestServer.StartAsync(Settings(closeTimeoutSeconds: 0.5));
        await using var publisher = await JoinedClientAsync(server, "publisher");
        await using var reader = await JoinedClientAsync(server, "reader");
        using var stalled = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws?user=stalled", receiveBufferBytes: 4096);
        await stalled.SendTextAsync($$"""{"op":"join","room":"{{Room}}","id":1}""");
        await stalled.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));
        // From here on the peer reads nothing.

        var published = await PublishUntilASlowConsumerIsClosedAsync(server, publisher);

        await Eventually.TrueAsync(() => server.Registry.Count == 2, "the slow consumer has left the registry");
        Assert.Equal(["publisher", "reader"], await server.PresentUsersAsync(Room));
        Assert.Equal(1, (await MetricsScrape.ReadAsync(server))["switchboard_slow_consumer_disconnects_total"]);
        await AssertReceivesEveryPublicationInOrderAsync(reader, published);
        await AssertReceivesEveryPublicationInOrderAsync(publisher, published);
    }

    [Fact]
    public async Task SlowConsumerThatReadsAgainFindsCloseCode4000AfterAGapFreePrefix()
    {
        await using var server = await TestServer.StartAsync(Settings(closeTimeoutSeconds: 10));
        await using var publisher = await JoinedClientAsync(server, "publisher");
        using var smallWindow = ManualWebSocket.SmallWindowInvoker(receiveBufferBytes: 4096);
        using var slow = await ManualWebSocket.ConnectAsync(server.Ws("ws?user=slow"), smallWindow);
        await slow.SendTextAsync($$"""{"op":"join","room":"{{Room}}","id":1}""");
        await slow.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));

        var published = await PublishUntilASlowConsumerIsClosedAsync(server, publisher);

        // The server's write to it is stuck mid-frame; reading again lets that frame, then the close, through.
        var offsets = new List<ulong>();
        var status = await slow.ReadUntilClosedAsync(line =>
        {
            using var message = JsonDocument.Parse(line);
            if (message.RootElement.GetProperty("op").GetString() == "message")
            {
                offsets.Add(message.RootElement.GetProperty("offset").GetUInt64());
            }
        });

        Assert.Equal((WebSocketCloseStatus)CloseCodes.SlowConsumer, status);
        Assert.True(CloseCodes.ShouldReconnect((int)status!.Value));
        Assert.NotEmpty(offsets);
        Assert.True(offsets.Count < published, "the overflowing messages were dropped, not delivered");
        Assert.Equal(Enumerable.Range(1, offsets.Count).Select(i => (ulong)i), offsets);
        await Eventually.TrueAsync(() => server.Registry.Count == 1, "the slow consumer has left the registry");
        await AssertReceivesEveryPublicationInOrderAsync(publisher, published);
    }

    private static async Task<ProtocolClient> JoinedClientAsync(TestServer server, string user)
    {
        var client = await server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        return client;
    }

    /// <summary>
    /// Publishes large messages one at a time, checking each reply, until the server reports a slow
    /// consumer disconnect; then ten more, to show that publishing carries on. Returns how many.
    /// </summary>
    private static async Task<int> PublishUntilASlowConsumerIsClosedAsync(TestServer server, ProtocolClient publisher)
    {
        var published = 0;
        async Task PublishAsync()
        {
            published++;
            var reply = await publisher.RequestAsync($$$"""{"op":"publish","room":"{{{Room}}}","data":{"n":{{{published}}},"pad":"{{{Padding}}}"}}""");
            Assert.Equal("reply", reply.GetProperty("op").GetString());
            Assert.Equal((ulong)published, reply.GetProperty("offset").GetUInt64());
        }

        while ((await MetricsScrape.ReadAsync(server))["switchboard_slow_consumer_disconnects_total"] is null or 0)
        {
            Assert.True(published < MaxPublications, $"no slow consumer was closed after {published} publications");
            await PublishAsync();
        }

        for (var i = 0; i < 10; i++)
        {
            await PublishAsync();
        }

        return published;
    }

    private static async Task AssertReceivesEveryPublicationInOrderAsync(ProtocolClient member, int published)
    {
        for (var n = 1; n <= published; n++)
        {
            var message = await member.ExpectAsync("message");
            Assert.Equal((ulong)n, message.GetProperty("offset").GetUInt64());
            Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
        }
    }
}
