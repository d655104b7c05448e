using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Protocol;
using Switchboard.Redis;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Switchboard.Tests.Security;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// <c>POST /events/{session}</c> made to a node that does not hold the stream: forwarded to the holder
/// through Redis, which checks it as it checks a POST made to it, and answered with the holder's
/// verdict. Two token-only nodes on one redis-server; streams are opened with an
/// <c>Authorization</c> header, so every forwarded POST must prove the stream's user again.
/// </summary>
[Trait("Category", "external")]
public sealed class StreamForwardingTests(SingleRedisTopology redis) : IClassFixture<SingleRedisTopology>, IAsyncLifetime
{
    private const string Join = """{"op":"join","room":"r","id":1}""";
    private readonly TokenFactory _tokens = TokenFactory.Hs256();
    private TestServer[] _nodes = [];

    public async Task InitializeAsync()
    {
        await redis.FlushAsync();
        var settings = redis.Settings();
        foreach (var (key, value) in _tokens.ServerSettings)
        {
            settings[key] = value;
        }

        settings["Switchboard:Auth:AllowAnonymous"] = "false";
        settings["Switchboard:Auth:AllowQueryUser"] = "false";
        settings["Switchboard:Limits:MaxMessageBytes"] = "1024";
        _nodes = await RedisNodes.StartServersAsync(settings, 2);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _tokens.Dispose();
    }

    [Fact]
    public async Task AForwardedPostMustShowATokenOfTheStreamsUser()
    {
        await using var stream = await OpenAsAsync("alice");
        stream.CommandsBaseUri = _nodes[1].BaseUri;

        using var asBob = await stream.PostAsync(Join, headers: Bearer("bob"));
        using var withoutToken = await stream.PostAsync(Join, headers: new Dictionary<string, string>());
        using var forged = await stream.PostAsync(Join, headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + TokenFactory.Tampered(_tokens.Create("bob"), "alice") });

        await AssertErrorAsync(asBob, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertErrorAsync(withoutToken, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await AssertErrorAsync(forged, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        using var asAlice = await stream.PostAsync(Join, headers: Bearer("alice"));
        Assert.Equal(HttpStatusCode.Accepted, asAlice.StatusCode);
        // The first reply in the stream is the one accepted join: the refused posts ran nothing.
        var reply = await stream.ExpectAsync(m => m.GetProperty("op").GetString() is "reply" or "error");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal("r", reply.GetProperty("room").GetString());
    }

    [Fact]
    public async Task ASessionThatNoNodeHoldsIs404OnEveryNode()
    {
        await using var stream = await OpenAsAsync("alice");
        var session = await stream.Session;
        var holder = session[..session.IndexOf('.', StringComparison.Ordinal)];
        var unknownOnTheHolder = holder + "." + new string('0', 32);
        var unknownNode = new string('f', 16) + "." + new string('0', 32);

        foreach (var node in _nodes)
        {
            stream.CommandsBaseUri = node.BaseUri;
            foreach (var id in new[] { unknownOnTheHolder, unknownNode, new string('0', 32), "not-a-session" })
            {
                using var response = await stream.PostAsync(Join, session: id);
                await AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_session");
            }
        }
    }

    [Fact]
    public async Task APostForAStreamWhoseNodeStoppedIs404()
    {
        var stream = await OpenAsAsync("alice");
        var session = await stream.Session;
        await _nodes[0].DisposeAsync();
        _nodes = [_nodes[1]];
        await stream.DisposeAsync();

        using var http = new HttpClient { BaseAddress = _nodes[0].BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "events/" + session) { Content = new StringContent(Join, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _tokens.Create("alice"));
        using var response = await http.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_session");
    }

    [Fact]
    public async Task TheReceivingNodeRefusesWhatItCanCheckItselfAndForwardsNothing()
    {
        await using var stream = await OpenAsAsync("alice");
        stream.CommandsBaseUri = _nodes[1].BaseUri;

        using var tooBig = await stream.PostAsync("{\"op\":\"publish\",\"room\":\"r\",\"data\":\"" + new string('x', 2000) + "\"}");
        using var plainText = await stream.PostAsync(Join, "text/plain");
        using var foreign = await stream.PostAsync(Join, headers: new Dictionary<string, string>(Bearer("alice")) { ["Origin"] = "https://evil.example.com" });

        await AssertErrorAsync(tooBig, HttpStatusCode.RequestEntityTooLarge, ErrorCodes.BadRequest);
        await AssertErrorAsync(plainText, HttpStatusCode.UnsupportedMediaType, ErrorCodes.BadRequest);
        await AssertErrorAsync(foreign, HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        var reply = await stream.RequestAsync("""{"op":"presence","room":"r"}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal(0, _nodes[0].Hub.RoomCount);
    }

    [Fact]
    public async Task SessionIdsNameTheirNode()
    {
        await using var stream = await OpenAsAsync("alice");

        var session = await stream.Session;

        Assert.Matches("^[0-9a-f]{16}\\.[0-9a-f]{32}$", session);
        Assert.StartsWith(_nodes[0].Services.GetRequiredService<RedisBroker>().NodeId + ".", session, StringComparison.Ordinal);
    }

    private async Task<HttpStreamClient> OpenAsAsync(string user)
    {
        var client = (HttpStreamClient)await _nodes[0].OpenAsync(SessionTransport.ServerSentEvents, string.Empty, Bearer(user));
        Assert.Equal(user, (await client.ExpectAsync("welcome")).GetProperty("user").GetString());
        return client;
    }

    private Dictionary<string, string> Bearer(string user) => new() { ["Authorization"] = "Bearer " + _tokens.Create(user) };

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}
