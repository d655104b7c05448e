using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>
/// The protocol's representative behaviours, each written once and run over every transport: the
/// WebSocket (<c>/ws</c>), server-sent events (<c>/events</c>) and HTTP streaming (<c>/stream</c>).
/// A session is a session: whatever carries it, the same commands get the same answers in the same order.
/// </summary>
[Trait("Category", "integration")]
public sealed class TransportMatrixTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task WelcomeNamesAnUnguessableSessionTheUserAndThePingInterval(SessionTransport transport)
    {
        await using var client = await _server.OpenAsync(transport, "user=alice");
        var welcome = await client.NextAsync();

        Assert.Equal("welcome", welcome.GetProperty("op").GetString());
        Assert.Equal("alice", welcome.GetProperty("user").GetString());
        Assert.Equal(25, welcome.GetProperty("ping").GetInt32());
        // 128 random bits in hex: a stream's session id is the capability to post its commands.
        Assert.Matches("^[0-9a-f]{32}$", welcome.GetProperty("session").GetString());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task PublicationsReachEveryMemberInOffsetOrderAndThePublisherSeesItsOwnBeforeTheReply(SessionTransport transport)
    {
        await using var alice = await _server.ConnectAsync(transport, "alice");
        await using var bob = await _server.ConnectAsync(transport, "bob");
        var joined = await alice.RequestAsync("""{"op":"join","room":"lobby"}""");
        Assert.Equal("lobby", joined.GetProperty("room").GetString());
        Assert.Equal(0UL, joined.GetProperty("offset").GetUInt64());
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");

        for (var n = 1; n <= 20; n++)
        {
            var id = await alice.SendWithIdAsync($$$"""{"op":"publish","room":"lobby","data":{"n":{{{n}}}}}""");
            var own = await alice.ExpectAsync(m => m.GetProperty("op").GetString() is "message" or "reply" && (m.TryGetProperty("offset", out _)));
            Assert.Equal("message", own.GetProperty("op").GetString());
            var reply = await alice.ExpectAsync("reply");
            Assert.Equal(id, reply.GetProperty("id").GetInt32());
            Assert.Equal((ulong)n, reply.GetProperty("offset").GetUInt64());
        }

        for (var n = 1; n <= 20; n++)
        {
            var message = await bob.ExpectAsync("message");
            Assert.Equal((ulong)n, message.GetProperty("offset").GetUInt64());
            Assert.Equal("alice", message.GetProperty("from").GetString());
            Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
        }
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task SeveralCommandsInOneSendRunInOrderAndACommandWithoutIdIsSilent(SessionTransport transport)
    {
        await using var alice = await _server.ConnectAsync(transport, "alice");
        await alice.SendAsync("""
            {"op":"join","room":"batch","id":"j"}
            {"op":"publish","room":"batch","data":"quiet"}
            {"op":"publish","room":"batch","data":"loud","id":"p"}
            """);

        Assert.Equal("j", (await alice.ExpectAsync("reply")).GetProperty("id").GetString());
        Assert.Equal("quiet", (await alice.ExpectAsync("message")).GetProperty("data").GetString());
        Assert.Equal("loud", (await alice.ExpectAsync("message")).GetProperty("data").GetString());
        var reply = await alice.ExpectAsync("reply");
        Assert.Equal("p", reply.GetProperty("id").GetString());
        Assert.Equal(2UL, reply.GetProperty("offset").GetUInt64());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task HistoryReturnsTheRetainedPublicationsAndJoinWithSinceRecoversTheMissedOnes(SessionTransport transport)
    {
        await using var alice = await _server.ConnectAsync(transport, "alice");
        var epoch = (await alice.RequestAsync("""{"op":"join","room":"news"}""")).GetProperty("epoch").GetString();
        await alice.RequestAsync("""{"op":"publish","room":"news","data":1}""");
        await alice.CloseAsync();

        for (var n = 2; n <= 4; n++)
        {
            using var published = await _server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "news", data = n });
            published.EnsureSuccessStatusCode();
        }

        await using var back = await _server.ConnectAsync(transport, "alice");
        var history = await back.RequestAsync("""{"op":"history","room":"news","limit":2}""");
        Assert.Equal([3UL, 4UL], Offsets(history));

        var recovered = await back.RequestAsync($$$"""{"op":"join","room":"news","since":{"offset":1,"epoch":"{{{epoch}}}"}}""");
        Assert.True(recovered.GetProperty("recovered").GetBoolean());
        Assert.Equal(4UL, recovered.GetProperty("offset").GetUInt64());
        Assert.Equal([2UL, 3UL, 4UL], Offsets(recovered));
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task PresenceListsTheMembersAndJoinedAndLeftEventsFollowTheirComingAndGoing(SessionTransport transport)
    {
        await using var alice = await _server.ConnectAsync(transport, "alice");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");
        await alice.ExpectAsync("joined");
        await using var bob = await _server.ConnectAsync(SessionTransport.WebSocket, "bob");
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");

        Assert.Equal("bob", (await alice.ExpectAsync("joined")).GetProperty("user").GetString());
        var presence = await alice.RequestAsync("""{"op":"presence","room":"lobby"}""");
        Assert.Equal(["alice", "bob"], presence.GetProperty("users").EnumerateObject().Select(u => u.Name).Order());

        await bob.CloseAsync();
        Assert.Equal("bob", (await alice.ExpectAsync("left")).GetProperty("user").GetString());
        var left = await alice.RequestAsync("""{"op":"leave","room":"lobby"}""");
        Assert.Equal("reply", left.GetProperty("op").GetString());
        Assert.Equal("lobby", left.GetProperty("room").GetString());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task DirectMessagesReachEveryConnectionOfTheUserWhateverItsTransport(SessionTransport transport)
    {
        await using var bobHere = await _server.ConnectAsync(transport, "bob");
        await using var bobOnWs = await _server.ConnectAsync(SessionTransport.WebSocket, "bob");
        await using var alice = await _server.ConnectAsync(transport, "alice");

        var reply = await alice.RequestAsync("""{"op":"send","user":"bob","data":{"text":"psst"}}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());

        foreach (var bob in new[] { bobHere, bobOnWs })
        {
            var direct = await bob.ExpectAsync("direct");
            Assert.Equal("alice", direct.GetProperty("from").GetString());
            Assert.Equal("psst", direct.GetProperty("data").GetProperty("text").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task ErrorsCarryTheCommandsIdAndTheSessionKeepsWorking(SessionTransport transport)
    {
        await using var alice = await _server.ConnectAsync(transport, "alice");

        var notJoined = await alice.RequestAsync("""{"op":"publish","room":"elsewhere","data":1}""");
        Assert.Equal("error", notJoined.GetProperty("op").GetString());
        Assert.Equal(ErrorCodes.NotJoined, notJoined.GetProperty("code").GetString());
        var unknown = await alice.RequestAsync("""{"op":"dance"}""");
        Assert.Equal(ErrorCodes.UnknownOp, unknown.GetProperty("code").GetString());
        await alice.SendAsync("{not json");
        Assert.Equal(ErrorCodes.BadRequest, (await alice.ExpectAsync("error")).GetProperty("code").GetString());

        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"still-fine"}""")).GetProperty("op").GetString());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task AUserOverItsConnectionLimitIsRefusedWith4504(SessionTransport transport)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerUser"] = "1" });
        await using var first = await server.ConnectAsync(SessionTransport.WebSocket, "alice");

        await using var second = await server.OpenAsync(transport, "user=alice");

        Assert.Equal(CloseCodes.TooManyConnections, await second.WaitForCloseAsync());
        Assert.Equal("reply", (await first.RequestAsync("""{"op":"join","room":"r"}""")).GetProperty("op").GetString());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task AClientThatKeepsSendingAfterRateLimitedIsClosedWith4503(SessionTransport transport)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:CommandsPerSecond"] = "1",
            ["Switchboard:Limits:CommandBurst"] = "2",
            ["Switchboard:Limits:RateLimitStrikes"] = "3",
        });
        await using var alice = await server.ConnectAsync(transport, "alice");

        await alice.SendAsync(string.Join('\n', Enumerable.Range(1, 10).Select(n => $$"""{"op":"presence","room":"r","id":{{n}}}""")));

        Assert.Equal(CloseCodes.RateLimited, await alice.WaitForCloseAsync());
    }

    [Theory]
    [MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]
    public async Task DrainFlushesWhatIsQueuedAndClosesWithGoingAway(SessionTransport transport)
    {
        var server = await TestServer.StartAsync();
        await using var _ = server;
        await using var alice = await server.ConnectAsync(transport, "alice");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");

        await server.StopAsync();

        Assert.Equal(CloseCodes.GoingAway, await alice.WaitForCloseAsync());
        Assert.Equal(0, server.Registry.Count);
    }

    private static ulong[] Offsets(JsonElement reply) =>
        reply.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetUInt64()).ToArray();
}
