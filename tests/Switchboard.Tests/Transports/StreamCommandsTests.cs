using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Security;
using Xunit;

namespace Switchboard.Tests.Transports;

/// <summary>
/// <c>POST /events/{session}</c> and the doors of the HTTP streams: every refusal is an HTTP status
/// with the API's JSON error body, a session id is bound to the identity that opened it, and the
/// WebSocket's admission rules (origin, per-address limit, identity, drain) hold for streams too.
/// </summary>
[Trait("Category", "integration")]
public sealed class StreamCommandsTests : IAsyncLifetime
{
    private const string ForeignOrigin = "https://evil.example.com";

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxMessageBytes"] = "1024" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task APostToAnUnknownSessionIs404()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);

        using var response = await client.PostAsync("""{"op":"join","room":"r","id":1}""", session: new string('0', 32));

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_session");
    }

    [Fact]
    public async Task APostToASessionThatEndedIs404()
    {
        var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);
        var session = await client.Session;
        await client.DisposeAsync();
        await Eventually.TrueAsync(() => _server.Registry.Count == 0, "the stream's session ended");

        using var http = new HttpClient { BaseAddress = _server.BaseUri };
        using var body = new StringContent("""{"op":"join","room":"r"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("events/" + session, UriKind.Relative), body);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_session");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task APostThatIsNotJsonIs415AndRunsNothing(string contentType)
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);

        using var response = await client.PostAsync("""{"op":"join","room":"r","id":1}""", contentType);

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, ErrorCodes.BadRequest);
        Assert.Equal(0, _server.Hub.RoomCount);
    }

    [Fact]
    public async Task NewlineDelimitedJsonIsAcceptedAsWellAsJson()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.HttpStream);

        using var response = await client.PostAsync("{\"op\":\"join\",\"room\":\"r\",\"id\":1}\n{\"op\":\"leave\",\"room\":\"r\",\"id\":2}\n", "application/x-ndjson");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("r", (await client.ExpectAsync(m => m.TryGetProperty("id", out var id) && id.GetInt32() == 2)).GetProperty("room").GetString());
    }

    [Fact]
    public async Task ABodyOverTheMessageLimitIs413AndRunsNothing()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);

        using var response = await client.PostAsync($$"""{"op":"join","room":"r","id":1,"pad":"{{new string('x', 1100)}}"}""");

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, ErrorCodes.BadRequest);
        Assert.Equal(0, _server.Hub.RoomCount);
    }

    [Fact]
    public async Task AChunkedBodyOverTheMessageLimitIs413AndRunsNothing()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);
        using var http = new HttpClient { BaseAddress = _server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "events/" + await client.Session)
        {
            Content = new UnknownLengthContent($$"""{"op":"join","room":"r","id":1,"pad":"{{new string('x', 1100)}}"}"""),
        };

        using var response = await http.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, ErrorCodes.BadRequest);
        Assert.Equal(0, _server.Hub.RoomCount);
    }

    [Fact]
    public async Task APostFromAForeignOriginIs403()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);

        using var response = await client.PostAsync("""{"op":"join","room":"r","id":1}""", headers: new Dictionary<string, string> { ["Origin"] = ForeignOrigin });

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task AStreamFromAForeignOriginIs403BeforeAnySession(SessionTransport transport)
    {
        await using var client = (HttpStreamClient)await _server.OpenAsync(transport, "user=alice", new Dictionary<string, string> { ["Origin"] = ForeignOrigin });

        Assert.Equal(HttpStatusCode.Forbidden, client.Response.StatusCode);
        Assert.Equal(0, _server.Registry.Count);
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task StreamsCountTowardsTheConnectionsOfTheirAddress(SessionTransport transport)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerIp"] = "1" });
        await using var first = await server.ConnectAsync(SessionTransport.WebSocket, "alice");

        await using var second = (HttpStreamClient)await server.OpenAsync(transport, "user=bob");

        Assert.Equal(HttpStatusCode.TooManyRequests, second.Response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task AStreamWithoutAnIdentityCarriesOnlyTheCloseMessage4501(SessionTransport transport)
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);

        await using var client = (HttpStreamClient)await server.OpenAsync(transport, "user=alice");

        Assert.Equal(CloseCodes.Unauthorized, await client.WaitForCloseAsync());
        Assert.Equal("a token is required on this endpoint", client.CloseReason);
        await Assert.ThrowsAnyAsync<Exception>(() => client.NextAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task AStreamOpenedWithAnAuthorizationHeaderTakesCommandsOnlyWithTheSameUsersToken()
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);
        var alice = new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.Create("alice") };
        await using var client = (HttpStreamClient)await server.OpenAsync(SessionTransport.ServerSentEvents, string.Empty, alice);
        Assert.Equal("alice", (await client.ExpectAsync("welcome")).GetProperty("user").GetString());
        const string Join = """{"op":"join","room":"r","id":1}""";

        using var asBob = await client.PostAsync(Join, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.Create("bob") });
        using var withoutToken = await client.PostAsync(Join, headers: new Dictionary<string, string>());
        using var forged = await client.PostAsync(Join, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + TokenFactory.Tampered(tokens.Create("bob"), "alice") });

        await AssertErrorAsync(asBob, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertErrorAsync(withoutToken, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertErrorAsync(forged, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        Assert.Equal(0, server.Hub.RoomCount);
        using var asAliceAgain = await client.PostAsync(Join, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.Create("alice") });
        Assert.Equal(HttpStatusCode.Accepted, asAliceAgain.StatusCode);
        Assert.Equal("reply", (await client.ExpectAsync("reply")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task AStreamOpenedWithAQueryTokenIsBoundToItsSessionIdAlone()
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);
        await using var client = (HttpStreamClient)await server.OpenAsync(SessionTransport.ServerSentEvents, "token=" + tokens.Create("alice"));
        await client.ExpectAsync("welcome");

        var reply = await client.RequestAsync("""{"op":"join","room":"r"}""");

        Assert.Equal("reply", reply.GetProperty("op").GetString());
    }

    [Theory]
    [MemberData(nameof(SessionClients.HttpStreams), MemberType = typeof(SessionClients))]
    public async Task ADrainingNodeRefusesNewStreamsWith503(SessionTransport transport)
    {
        // Set directly: once the host stops, Kestrel soon stops accepting, and a latecomer may find no listener at all.
        _server.Services.GetRequiredService<ShutdownState>().BeginDraining();

        await using var late = (HttpStreamClient)await _server.OpenAsync(transport, "user=late");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.Response.StatusCode);
        Assert.Equal(0, _server.Registry.Count);
    }

    /// <summary>A JSON body sent chunked: no Content-Length for the server to refuse it by.</summary>
    private sealed class UnknownLengthContent : HttpContent
    {
        private readonly byte[] _body;

        public UnknownLengthContent(string json)
        {
            _body = System.Text.Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }
}
