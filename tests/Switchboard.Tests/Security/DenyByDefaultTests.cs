using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// With the production default (<c>Rooms:AllowAll</c> off), a room no rule covers is closed: a token
/// holder who guesses a room's name can neither join it, read its history nor see who is in it. Only
/// the user's personal room and the rooms the token grants may be joined, and a granted room shows
/// presence and history only where a rule says so.
/// </summary>
[Trait("Category", "integration")]
public sealed class DenyByDefaultTests : IAsyncLifetime
{
    private readonly TokenFactory _tokens = TokenFactory.Hs256();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tokens.Dispose();
    }

    [Fact]
    public async Task WithoutRulesATokenHolderCannotJoinReadOrWatchARoomByGuessingItsName()
    {
        await using var bob = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("bob").Granting("lobby")), "bob");
        Assert.Equal("reply", Op(await bob.RequestAsync("""{"op":"join","room":"lobby"}""")));
        Assert.Equal("reply", Op(await bob.RequestAsync("""{"op":"publish","room":"lobby","data":"secret plans"}""")));
        await using var mallory = await _server.ConnectWithTokenAsync(_tokens.Create("mallory"), "mallory");
        await using var anonymous = await ConnectAnonymousAsync();

        foreach (var guesser in new[] { mallory, anonymous })
        {
            AssertForbidden(await guesser.RequestAsync("""{"op":"join","room":"lobby"}"""));
            AssertForbidden(await guesser.RequestAsync("""{"op":"history","room":"lobby"}"""));
            AssertForbidden(await guesser.RequestAsync("""{"op":"presence","room":"lobby"}"""));
            AssertForbidden(await guesser.RequestAsync("""{"op":"join","room":"user:bob"}"""));
        }
    }

    [Fact]
    public async Task PersonalAndGrantedRoomsCanBeJoinedButAGrantedRoomShowsNoPresenceOrHistoryWithoutARule()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("team:1")), "alice");
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"user:alice"}""")));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"history","room":"user:alice"}""")));
        var joined = await alice.RequestAsync("""{"op":"join","room":"team:1"}""");
        Assert.Equal("reply", Op(joined));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"publish","room":"team:1","data":1}""")));
        await alice.ExpectAsync("message");

        AssertForbidden(await alice.RequestAsync("""{"op":"presence","room":"team:1"}"""));
        AssertForbidden(await alice.RequestAsync("""{"op":"history","room":"team:1"}"""));

        // Bob, granted too, arrives: no joined event tells alice who he is, and a join with since
        // recovers nothing of what was said before him.
        await using var bob = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("bob").Granting("team:1")), "bob");
        var since = $$$"""{"op":"join","room":"team:1","since":{"offset":0,"epoch":"{{{joined.GetProperty("epoch").GetString()}}}"}}""";
        var recovery = await bob.RequestAsync(since);
        Assert.False(recovery.GetProperty("recovered").GetBoolean());
        Assert.Equal(0, recovery.GetProperty("publications").GetArrayLength());
        Assert.Equal("reply", Op(await bob.RequestAsync("""{"op":"publish","room":"team:1","data":2}""")));
        // Events of one room reach a member in order, so a joined event would come before bob's message.
        var next = await alice.ExpectAsync(m => m.TryGetProperty("room", out var room) && room.GetString() == "team:1");
        Assert.Equal("message", Op(next));
        Assert.Equal(2, next.GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task ARuleOpensTheRoomsItCoversAndNoOthers()
    {
        await using var server = await StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Rooms:Rules:0:Pattern"] = "public:*",
            ["Switchboard:Rooms:Rules:0:Join"] = "authenticated",
        });
        await using var alice = await server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");

        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"public:hall"}""")));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"presence","room":"public:hall"}""")));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"history","room":"public:hall"}""")));
        AssertForbidden(await alice.RequestAsync("""{"op":"join","room":"private:hall"}"""));
    }

    [Fact]
    public async Task APlainRoomNoRuleCoversIsClosedWith4502()
    {
        await using var guesser = await _server.OpenWithTokenAsync(_tokens.Create("mallory"), path: "rooms/lobby");
        await using var granted = await _server.OpenWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("lobby")), path: "rooms/lobby");

        await guesser.AssertClosedWithAsync(CloseCodes.Forbidden);
        await granted.SendAsync("\"hello\"");
        Assert.Equal("hello", (await granted.NextAsync()).GetString());
    }

    private Task<TestServer> StartAsync(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            // The production default; the test server otherwise opens rooms as development does.
            ["Switchboard:Rooms:AllowAll"] = "false",
            ["Switchboard:Auth:AllowAnonymous"] = "true",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return SecureConnections.StartTokenOnlyServerAsync(_tokens, settings);
    }

    private async Task<ProtocolClient> ConnectAnonymousAsync()
    {
        var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));
        Assert.StartsWith("anon-", (await client.ExpectAsync("welcome")).GetProperty("user").GetString(), StringComparison.Ordinal);
        return client;
    }

    private static void AssertForbidden(JsonElement reply)
    {
        Assert.Equal("error", Op(reply));
        Assert.Equal("forbidden", reply.GetProperty("code").GetString());
    }

    private static string? Op(JsonElement message) => message.GetProperty("op").GetString();
}
