using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Endpoints;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Endpoints;

/// <summary>The endpoints beside the protocol: plain rooms, echo, the HTTP API, health, metrics and the index page.</summary>
[Trait("Category", "integration")]
public sealed class PlainEchoAndHttpTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PlainRoomRelaysEveryFrameAsSentToEveryMemberIncludingTheSender()
    {
        await using var alice = await ProtocolClient.ConnectAsync(_server.Ws("rooms/chat"));
        await using var bob = await ProtocolClient.ConnectAsync(_server.Ws("rooms/chat"));
        await Eventually.TrueAsync(() => PlainConnections("chat") == 2, "both have joined the plain room");

        await alice.SendAsync("one");
        await alice.SendAsync("two\nlines");
        await alice.SendRawAsync(new byte[] { 0x00, 0xFF, 0x10 }, WebSocketMessageType.Binary);
        await alice.SendAsync("{\"not\":\"parsed\"}");

        foreach (var member in new[] { alice, bob })
        {
            Assert.Equal("one", (await member.NextAsync()).GetString());
            Assert.Equal("two", (await member.NextAsync()).GetString());
            Assert.Equal("lines", (await member.NextAsync()).GetString());
            Assert.Equal([0x00, 0xFF, 0x10], await member.NextBinaryAsync());
            Assert.Equal("parsed", (await member.NextAsync()).GetProperty("not").GetString());
            lock (member.RawTextFrames)
            {
                // One frame in, one frame out: never joined with others, newline included.
                Assert.Equal(["one", "two\nlines", "{\"not\":\"parsed\"}"], member.RawTextFrames);
            }
        }
    }

    [Theory]
    [InlineData("rooms/bad!name")]
    [InlineData("rooms/spaced%20name")]
    public async Task PlainRoomWithAnInvalidNameRefusesTheUpgradeWithBadRequest(string path)
    {
        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync(_server.Ws(path), timeout.Token));

        Assert.Equal(HttpStatusCode.BadRequest, client.HttpStatusCode);
        Assert.Equal(0, _server.Registry.Count);
    }

    [Fact]
    public async Task PlainRoomWithANameLongerThan128CharactersIsRefused()
    {
        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync(_server.Ws("rooms/" + new string('r', 129)), timeout.Token));

        Assert.Equal(HttpStatusCode.BadRequest, client.HttpStatusCode);
    }

    [Fact]
    public async Task EchoReturnsTextAsTextAndBinaryAsBinary()
    {
        await using var echo = await ProtocolClient.ConnectAsync(_server.Ws("echo"));

        await echo.SendAsync("hello");
        await echo.SendRawAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary);
        await echo.SendAsync("bye");

        Assert.Equal("hello", (await echo.NextAsync()).GetString());
        Assert.Equal([1, 2, 3], await echo.NextBinaryAsync());
        Assert.Equal("bye", (await echo.NextAsync()).GetString());
    }

    [Fact]
    public async Task HttpPublishAnswersOffsetAndEpochAndMembersReceiveItFromNobody()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var joined = await alice.RequestAsync("""{"op":"join","room":"news"}""");

        using var response = await PostAsync("api/publish", """{"room":"news","data":{"headline":"hi"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var position = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1UL, position.RootElement.GetProperty("offset").GetUInt64());
        Assert.Equal(joined.GetProperty("epoch").GetString(), position.RootElement.GetProperty("epoch").GetString());
        var message = await alice.ExpectAsync("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("from").ValueKind);
        Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
        Assert.Equal("hi", message.GetProperty("data").GetProperty("headline").GetString());
    }

    [Fact]
    public async Task HttpSendReachesEveryConnectionOfTheUser()
    {
        await using var phone = await _server.ConnectAsync("carol");
        await using var laptop = await _server.ConnectAsync("carol");

        using var response = await PostAsync("api/send", """{"user":"carol","data":"psst"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var device in new[] { phone, laptop })
        {
            var direct = await device.ExpectAsync("direct");
            Assert.Equal(JsonValueKind.Null, direct.GetProperty("from").ValueKind);
            Assert.Equal("psst", direct.GetProperty("data").GetString());
        }
    }

    [Theory]
    [InlineData("{not json", "bad_request")]
    [InlineData("[1,2,3]", "bad_request")]
    [InlineData("""{"data":1}""", "invalid_field")]
    [InlineData("""{"room":42,"data":1}""", "invalid_field")]
    [InlineData("""{"room":"news"}""", "invalid_field")]
    [InlineData("""{"room":"no spaces","data":1}""", "invalid_room")]
    public async Task HttpPublishWithABadBodyIsRefusedWithAnErrorCode(string body, string code)
    {
        using var response = await PostAsync("api/publish", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task RoomListShowsProtocolAndPlainRoomsWithTheirConnectionsAndUsers()
    {
        await using var alicePhone = await JoinedAsync("alice", "lobby");
        await using var aliceLaptop = await JoinedAsync("alice", "lobby");
        await using var bob = await JoinedAsync("bob", "lobby");
        await using var plain = await ProtocolClient.ConnectAsync(_server.Ws("rooms/chat"));
        await Eventually.TrueAsync(() => PlainConnections("chat") == 1, "the plain member has joined");

        using var list = JsonDocument.Parse(await _server.Http.GetStringAsync(new Uri("api/rooms", UriKind.Relative)));

        var rooms = list.RootElement.GetProperty("rooms").EnumerateArray()
            .Select(r => (Room: r.GetProperty("room").GetString(), Mode: r.GetProperty("mode").GetString(), Connections: r.GetProperty("connections").GetInt32(), Users: r.GetProperty("users")))
            .ToArray();
        Assert.Equal(2, rooms.Length);
        Assert.Equal(("lobby", "protocol", 3), (rooms[0].Room, rooms[0].Mode, rooms[0].Connections));
        Assert.Equal(2, rooms[0].Users.GetInt32());
        Assert.Equal(("chat", "plain", 1), (rooms[1].Room, rooms[1].Mode, rooms[1].Connections));
        Assert.Equal(JsonValueKind.Null, rooms[1].Users.ValueKind);
    }

    [Fact]
    public async Task PresenceListsEachUserWithTheirConnectionCount()
    {
        await using var alicePhone = await JoinedAsync("alice", "lobby");
        await using var aliceLaptop = await JoinedAsync("alice", "lobby");
        await using var bob = await JoinedAsync("bob", "lobby");

        using var presence = JsonDocument.Parse(await _server.Http.GetStringAsync(new Uri("api/rooms/lobby/presence", UriKind.Relative)));
        using var empty = JsonDocument.Parse(await _server.Http.GetStringAsync(new Uri("api/rooms/nobody-here/presence", UriKind.Relative)));
        using var invalid = await _server.Http.GetAsync(new Uri("api/rooms/bad!room/presence", UriKind.Relative));

        Assert.Equal("lobby", presence.RootElement.GetProperty("room").GetString());
        Assert.Equal(
            [("alice", 2), ("bob", 1)],
            presence.RootElement.GetProperty("users").EnumerateObject().Select(u => (u.Name, u.Value.GetInt32())).OrderBy(u => u.Name));
        Assert.Empty(empty.RootElement.GetProperty("users").EnumerateObject());
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var error = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
        Assert.Equal("invalid_room", error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    public async Task HealthAndReadinessAreOkWhileRunning(string path)
    {
        using var response = await _server.Http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ok", body.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task MetricsCarryTheDocumentedSeriesWithPlausibleValuesAfterTraffic()
    {
        await using var alice = await JoinedAsync("alice", "lobby");
        await using var bob = await JoinedAsync("bob", "lobby");
        for (var i = 0; i < 3; i++)
        {
            await alice.RequestAsync("""{"op":"publish","room":"lobby","data":"x"}""");
        }

        var notJoined = await alice.RequestAsync("""{"op":"publish","room":"elsewhere","data":"x"}""");
        Assert.Equal("not_joined", notJoined.GetProperty("code").GetString());
        for (var i = 0; i < 3; i++)
        {
            await bob.ExpectAsync("message");
        }

        // Commands so far: two joins, three publishes, one refused publish. Messages out: at least
        // the welcomes, join replies, publications to both members and publish replies.
        await Eventually.TrueAsync(async () => (await MetricsScrape.ReadAsync(_server))["switchboard_messages_out_total"] >= 13, "the writes have been counted");
        using var response = await _server.Http.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var metrics = MetricsScrape.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, metrics["switchboard_connections"]);
        Assert.Equal(1, metrics["switchboard_rooms"]);
        Assert.Equal(2, metrics["switchboard_users"]);
        Assert.Equal(6, metrics["switchboard_messages_in_total"]);
        Assert.Equal(3, metrics["switchboard_publications_total"]);
        Assert.Equal(1, metrics["switchboard_errors_total{code=\"not_joined\"}"]);
        Assert.InRange(metrics["switchboard_bytes_in_total"] ?? 0, 6 * 20, 6 * 100);
        Assert.True(metrics["switchboard_bytes_out_total"] > metrics["switchboard_bytes_in_total"], "more bytes went out than came in");
        Assert.NotNull(metrics["switchboard_queue_messages"]);
        Assert.NotNull(metrics["switchboard_queue_bytes"]);
        Assert.Equal(2, metrics["switchboard_connections_accepted_total"]);
    }

    [Fact]
    public async Task SlowConsumerCounterIsExportedAtZeroBeforeAnyDisconnect()
    {
        await using var alice = await JoinedAsync("alice", "lobby");
        await alice.RequestAsync("""{"op":"publish","room":"lobby","data":"x"}""");

        var metrics = await MetricsScrape.ReadAsync(_server);

        // A counter that only appears after its first event breaks rate() and alerts on it in Prometheus.
        Assert.True(metrics["switchboard_slow_consumer_disconnects_total"] == 0, "switchboard_slow_consumer_disconnects_total is not exported as 0:\n" + metrics.Text);
    }

    [Fact]
    public async Task TheRootIsLeftToTheHostingApp()
    {
        // MapSwitchboard() maps no page at "/": an app that hosts Switchboard keeps its own.
        using var response = await _server.Http.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("ws")]
    [InlineData("echo")]
    [InlineData("rooms/chat")]
    public async Task PlainHttpGetOnAWebSocketEndpointIsABadRequest(string path)
    {
        using var response = await _server.Http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, _server.Registry.Count);
    }

    private int PlainConnections(string room) =>
        _server.Services.GetRequiredService<PlainRooms>().Rooms().Where(r => r.Room == room).Select(r => r.Connections).SingleOrDefault();

    private async Task<ProtocolClient> JoinedAsync(string user, string room)
    {
        var client = await _server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        return client;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _server.Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
}
