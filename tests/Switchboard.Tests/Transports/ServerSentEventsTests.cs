using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Transports;

/// <summary>
/// What only an HTTP stream has: its response headers, the heartbeat comment, event ids and resuming
/// with <c>Last-Event-ID</c>, binary publications as JSON, the close message, and a reader that stops
/// reading cut off like a WebSocket one.
/// </summary>
[Trait("Category", "integration")]
public sealed partial class ServerSentEventsTests
{
    [Fact]
    public async Task TheStreamIsUncachedUnbufferedServerSentEvents()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await HttpStreamClient.OpenAsync(server.BaseUri, "events?user=alice");

        Assert.Equal("text/event-stream", client.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", client.Response.Headers.CacheControl?.ToString());
        Assert.Equal(["no"], client.Response.Headers.GetValues("X-Accel-Buffering"));
        Assert.Equal("welcome", (await client.NextAsync()).GetProperty("op").GetString());
        Assert.Equal("0", client.LastEventId);
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task AnIdleStreamCarriesAHeartbeatOnTheHeartbeatInterval(SessionTransport transport)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Heartbeat:IntervalSeconds"] = "0.2" });
        await using var client = (HttpStreamClient)await server.ConnectAsync(transport, "alice");

        await Eventually.TrueAsync(() => client.Heartbeats >= 2, "two heartbeats arrived on the idle stream");
    }

    [Fact]
    public async Task EachEventIdIsTheStreamsPositionInEveryRoomItCarries()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = (HttpStreamClient)await server.ConnectAsync(SessionTransport.ServerSentEvents, "alice");
        var lobby = (await client.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("epoch").GetString();
        var news = (await client.RequestAsync("""{"op":"join","room":"news"}""")).GetProperty("epoch").GetString();
        await client.RequestAsync("""{"op":"publish","room":"news","data":1}""");

        Assert.Equal($"lobby~{lobby}~0,news~{news}~1", client.LastEventId);
        await client.RequestAsync("""{"op":"leave","room":"lobby"}""");
        Assert.Equal($"news~{news}~1", client.LastEventId);
    }

    [Fact]
    public async Task AReconnectWithLastEventIdRejoinsEveryRoomAndRecoversWhatWasMissed()
    {
        await using var server = await TestServer.StartAsync();
        string lastEventId;
        await using (var first = (HttpStreamClient)await server.ConnectAsync(SessionTransport.ServerSentEvents, "alice"))
        {
            await first.RequestAsync("""{"op":"join","room":"lobby"}""");
            await first.RequestAsync("""{"op":"join","room":"news"}""");
            await PublishAsync(server, "lobby", 1);
            await first.ExpectAsync("message");
            lastEventId = first.LastEventId!;
        }

        await Eventually.TrueAsync(() => server.Registry.Count == 0, "the first stream's session ended");
        await PublishAsync(server, "lobby", 2);
        await PublishAsync(server, "lobby", 3);
        await PublishAsync(server, "news", 1);

        await using var resumed = await HttpStreamClient.OpenAsync(server.BaseUri, "events?user=alice", new Dictionary<string, string> { ["Last-Event-ID"] = lastEventId });
        var welcome = await resumed.NextAsync();
        Assert.Equal("welcome", welcome.GetProperty("op").GetString());
        // Until the rejoins answer, the stream's position is the one it resumed from.
        Assert.Equal(lastEventId, resumed.EventIds[0]);
        var lobby = await resumed.ExpectAsync(m => m.TryGetProperty("id", out var id) && id.GetString() == "resume:lobby");
        Assert.True(lobby.GetProperty("recovered").GetBoolean());
        Assert.Equal([2, 3], lobby.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetInt32()));
        var news = await resumed.ExpectAsync(m => m.TryGetProperty("id", out var id) && id.GetString() == "resume:news");
        Assert.Equal([1], news.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetInt32()));

        // Live again, right after the recovered range.
        await PublishAsync(server, "lobby", 4);
        Assert.Equal(4, (await resumed.ExpectAsync("message")).GetProperty("data").GetInt32());
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("lobby~epoch")]
    [InlineData("bad room~e~1")]
    [InlineData("lobby~e~-1")]
    public async Task AMalformedLastEventIdStartsAFreshStream(string lastEventId)
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await HttpStreamClient.OpenAsync(server.BaseUri, "events?user=alice", new Dictionary<string, string> { ["Last-Event-ID"] = lastEventId });

        Assert.Equal("welcome", (await client.NextAsync()).GetProperty("op").GetString());
        Assert.Equal("0", client.LastEventId);
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"presence","room":"lobby"}""")).GetProperty("op").GetString());
        Assert.Equal(0, server.Hub.RoomCount);
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task ABinaryPublicationArrivesAsJsonWithItsPayloadInBase64(SessionTransport transport)
    {
        await using var server = await TestServer.StartAsync();
        await using var reader = await server.ConnectAsync(transport, "reader");
        await reader.RequestAsync("""{"op":"join","room":"bin"}""");
        await using var writer = await server.ConnectAsync("writer");
        await writer.RequestAsync("""{"op":"join","room":"bin"}""");

        await writer.SendRawAsync(BinaryFrames.EncodePublish("bin", [0xDE, 0xAD]), WebSocketMessageType.Binary);

        var message = await reader.ExpectAsync("message");
        Assert.Equal("writer", message.GetProperty("from").GetString());
        Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
        Assert.Equal([0xDE, 0xAD], message.GetProperty("binary").GetBytesFromBase64());
    }

    [Fact]
    public async Task TheCloseMessageIsTheLastEventAndTheResponseEndsAfterIt()
    {
        await using var server = await TestServer.StartAsync();
        using var raw = await RawStreamReader.OpenAsync(server.BaseUri, "/events?user=alice");
        await raw.ReadUntilAsync("\"op\":\"welcome\"");

        await server.StopAsync();

        var all = await raw.ReadUntilAsync("\"op\":\"close\"");
        Assert.True(await raw.ReadUntilDisconnectedAsync(), "the response ended after the close message");
        Assert.Matches("""data: \{"op":"close","code":1001,"reason":"server shutting down"\}\n\n""", all);
    }

    [Fact]
    public async Task AReaderThatStopsReadingIsCutOffWhileOthersReceiveEveryPublication()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxQueuedMessages"] = "64",
            ["Switchboard:Limits:MaxQueuedBytes"] = "65536",
            ["Switchboard:Limits:CloseTimeoutSeconds"] = "0.5",
        }, logs);
        await using var reader = await server.ConnectAsync("reader");
        await reader.RequestAsync("""{"op":"join","room":"flood"}""");
        using var stalled = await RawStreamReader.OpenAsync(server.BaseUri, "/events?user=stalled");
        var session = SessionId().Match(await stalled.ReadUntilAsync("\"op\":\"welcome\"")).Groups[1].Value;
        using var join = new StringContent("""{"op":"join","room":"flood","id":1}""", System.Text.Encoding.UTF8, "application/json");
        (await server.Http.PostAsync(new Uri("events/" + session, UriKind.Relative), join)).EnsureSuccessStatusCode();
        await stalled.ReadUntilAsync("\"id\":1");

        var padding = new string('p', 8 * 1024);
        var published = 0;
        while (await SlowConsumerDisconnectsAsync(server) == 0)
        {
            Assert.True(published < 2_000, $"the stalled reader was not cut off after {published} publications");
            await PublishAsync(server, "flood", ++published, padding);
        }

        await Eventually.TrueAsync(() => server.Registry.Count == 1, "the stalled stream's session has ended");
        for (var n = 1; n <= published; n++)
        {
            Assert.Equal((ulong)n, (await reader.ExpectAsync("message")).GetProperty("offset").GetUInt64());
        }

        Assert.True(await stalled.ReadUntilDisconnectedAsync(), "the server ended the stalled reader's connection");
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Id == 1003);
    }

    private static async Task PublishAsync(TestServer server, string room, int n, string? padding = null)
    {
        using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), padding is null ? (object)new { room, data = n } : new { room, data = new { n, padding } });
        response.EnsureSuccessStatusCode();
    }

    private static async Task<double> SlowConsumerDisconnectsAsync(TestServer server) =>
        (await MetricsScrape.ReadAsync(server))["switchboard_slow_consumer_disconnects_total"] ?? 0;

    [GeneratedRegex("\"session\":\"([0-9a-f]+)\"")]
    private static partial Regex SessionId();
}
