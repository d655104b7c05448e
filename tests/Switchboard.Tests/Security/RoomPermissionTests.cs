using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// Room rules by name pattern (first match wins), each user's personal room, and the rooms a token
/// grants. A denied join or publish is answered <c>forbidden</c> and leaves no trace: no membership,
/// no presence, no publication, no room slot used.
/// </summary>
[Trait("Category", "integration")]
public sealed class RoomPermissionTests : IAsyncLifetime
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
    public async Task AnyoneRoomsAcceptAnonymousConnections()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);

        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"join","room":"public:lobby"}""")));
        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"publish","room":"public:lobby","data":"hi"}""")));
    }

    [Fact]
    public async Task AuthenticatedRoomsRefuseAnonymousConnectionsAndAcceptTokens()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");

        AssertForbidden(await anonymous.RequestAsync("""{"op":"join","room":"members:chat"}"""));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"members:chat"}""")));
    }

    public static TheoryData<string, string[], string[]> RoomsClaims() => new()
    {
        { """["private:a","private:b"]""", ["private:a", "private:b"], ["private:c"] },
        { "\"private:a private:b\"", ["private:a", "private:b"], ["private:c"] },
        { """["private:team:*"]""", ["private:team:1", "private:team:2"], ["private:other"] },
        { "\"private:a\"", ["private:a"], ["private:ab", "private:b"] },
    };

    [Theory]
    [MemberData(nameof(RoomsClaims))]
    public async Task GrantedRoomsAdmitExactlyTheRoomsAndPatternsTheTokenLists(string claim, string[] allowed, string[] refused)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        ArgumentNullException.ThrowIfNull(refused);
        var rooms = JsonSerializer.Deserialize<JsonElement>(claim);
        object value = rooms.ValueKind == JsonValueKind.String ? rooms.GetString()! : rooms.EnumerateArray().Select(r => r.GetString()!).ToArray();
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("alice") with { Rooms = value }), "alice");

        foreach (var room in allowed)
        {
            Assert.Equal("reply", Op(await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""")));
        }

        foreach (var room in refused)
        {
            AssertForbidden(await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}"""));
        }
    }

    [Fact]
    public async Task GrantedRoomsRefuseAuthenticatedUsersWithoutTheGrant()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");

        var error = await alice.RequestAsync("""{"op":"join","room":"private:a"}""");

        AssertForbidden(error);
        Assert.Contains("private:a", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheFirstMatchingRuleDecides()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);

        // "private:lobby" (anyone) is listed before "private:*" (granted).
        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"join","room":"private:lobby"}""")));
        AssertForbidden(await anonymous.RequestAsync("""{"op":"join","room":"private:lobby2"}"""));
    }

    [Fact]
    public async Task RoomsNoRuleMatchesAreOpen()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);

        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"join","room":"misc"}""")));
        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"publish","room":"misc","data":1}""")));
    }

    [Fact]
    public async Task NobodyRoomsRefuseEveryJoin()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");

        AssertForbidden(await anonymous.RequestAsync("""{"op":"join","room":"closed:vault"}"""));
        AssertForbidden(await alice.RequestAsync("""{"op":"join","room":"closed:vault"}"""));
    }

    [Fact]
    public async Task GrantedPublishRoomsLetMembersListenAndOnlyGrantedUsersSpeak()
    {
        await using var listener = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        await using var speaker = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("bob").Granting("stage:*")), "bob");
        await listener.RequestAsync("""{"op":"join","room":"stage:main"}""");
        await speaker.RequestAsync("""{"op":"join","room":"stage:main"}""");

        AssertForbidden(await listener.RequestAsync("""{"op":"publish","room":"stage:main","data":"heckle"}"""));
        var published = await speaker.RequestAsync("""{"op":"publish","room":"stage:main","data":"keynote"}""");

        Assert.Equal(1UL, published.GetProperty("offset").GetUInt64());
        var message = await listener.ExpectAsync("message");
        Assert.Equal("keynote", message.GetProperty("data").GetString());
        Assert.Equal("bob", message.GetProperty("from").GetString());
    }

    [Fact]
    public async Task ServerOnlyRoomsAcceptPublicationsFromTheHttpApiAlone()
    {
        await using var member = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("announce:*")), "alice");
        await member.RequestAsync("""{"op":"join","room":"announce:news"}""");

        AssertForbidden(await member.RequestAsync("""{"op":"publish","room":"announce:news","data":"fake news"}"""));
        await member.SendRawAsync(BinaryFrames.EncodePublish("announce:news", [0xBA, 0xD0]), WebSocketMessageType.Binary);
        AssertForbidden(await member.ExpectAsync("error"));
        var api = await PublishViaApiAsync(_server, "announce:news", "real news");

        Assert.Equal(1UL, api.GetProperty("offset").GetUInt64());
        var message = await member.ExpectAsync("message");
        Assert.Equal("real news", message.GetProperty("data").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("from").ValueKind);
    }

    [Fact]
    public async Task PresenceAndHistoryAreVisibleOnlyWhereTheRuleSaysSo()
    {
        await using var client = await ConnectAnonymousAsync(_server);
        await client.RequestAsync("""{"op":"join","room":"quiet:room"}""");
        await client.RequestAsync("""{"op":"join","room":"public:room"}""");

        AssertForbidden(await client.RequestAsync("""{"op":"presence","room":"quiet:room"}"""));
        AssertForbidden(await client.RequestAsync("""{"op":"history","room":"quiet:room"}"""));
        Assert.Equal("reply", Op(await client.RequestAsync("""{"op":"presence","room":"public:room"}""")));
        Assert.Equal("reply", Op(await client.RequestAsync("""{"op":"history","room":"public:room"}""")));
    }

    [Fact]
    public async Task PresenceAndHistoryOfARoomOneMayNotJoinAreForbidden()
    {
        await using var anonymous = await ConnectAnonymousAsync(_server);

        AssertForbidden(await anonymous.RequestAsync("""{"op":"presence","room":"private:a"}"""));
        AssertForbidden(await anonymous.RequestAsync("""{"op":"history","room":"private:a"}"""));
    }

    [Fact]
    public async Task RoomsWithHiddenPresenceDoNotAnnounceWhoJoins()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        await using var bob = await _server.ConnectWithTokenAsync(_tokens.Create("bob"), "bob");
        await alice.RequestAsync("""{"op":"join","room":"quiet:room"}""");

        await bob.RequestAsync("""{"op":"join","room":"quiet:room"}""");
        await bob.RequestAsync("""{"op":"publish","room":"quiet:room","data":"marker"}""");

        // Bob's joined event, if any, is queued to alice before his publication.
        var seen = await ReceiveUntilAsync(alice, m => Op(m) == "message" && m.GetProperty("data").GetString() == "marker");
        Assert.DoesNotContain(seen, m => Op(m) == "joined" && m.GetProperty("user").GetString() == "bob");
    }

    [Fact]
    public async Task RoomsWithHiddenHistoryDoNotReplayItToAJoinWithSince()
    {
        var first = await PublishViaApiAsync(_server, "quiet:room", "before you came");
        await PublishViaApiAsync(_server, "quiet:room", "also before");
        await using var client = await ConnectAnonymousAsync(_server);

        var reply = await client.RequestAsync($$$"""{"op":"join","room":"quiet:room","since":{"offset":0,"epoch":"{{{first.GetProperty("epoch").GetString()}}}"}}""");

        var replayed = reply.TryGetProperty("publications", out var publications) ? publications.GetArrayLength() : 0;
        Assert.True(Op(reply) == "error" || replayed == 0, $"a room whose rule hides history replayed {replayed} earlier publications to a new member: {reply}");
    }

    [Fact]
    public async Task PersonalRoomAdmitsOnlyItsOwner()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        await using var bob = await _server.ConnectWithTokenAsync(_tokens.Create("bob"), "bob");
        await using var anonymous = await ConnectAnonymousAsync(_server);
        var anonymousUser = _server.Registry.Snapshot().Single(c => c.Identity?.IsAnonymous == true).User;

        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"user:alice"}""")));
        AssertForbidden(await bob.RequestAsync("""{"op":"join","room":"user:alice"}"""));
        AssertForbidden(await anonymous.RequestAsync($$"""{"op":"join","room":"user:{{anonymousUser}}"}"""));
        AssertForbidden(await bob.RequestAsync("""{"op":"presence","room":"user:alice"}"""));
        AssertForbidden(await bob.RequestAsync("""{"op":"history","room":"user:alice"}"""));
    }

    [Fact]
    public async Task ClientsCannotPublishToAPersonalRoomButTheHttpApiCanAndTheOwnerReceivesIt()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        await alice.RequestAsync("""{"op":"join","room":"user:alice"}""");

        AssertForbidden(await alice.RequestAsync("""{"op":"publish","room":"user:alice","data":"note to self"}"""));
        await PublishViaApiAsync(_server, "user:alice", "you have mail");

        var message = await alice.ExpectAsync("message");
        Assert.Equal("you have mail", message.GetProperty("data").GetString());
        Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task ForbiddenJoinLeavesNoMembershipNoPresenceAndNoRoomSlotUsed()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxRoomsPerConnection"] = "1" });
        await using var anonymous = await ConnectAnonymousAsync(server);

        AssertForbidden(await anonymous.RequestAsync("""{"op":"join","room":"private:secret"}"""));

        Assert.Empty(await server.Hub.PresenceAsync("private:secret", CancellationToken.None));
        Assert.Equal(0, server.Hub.RoomCount);
        using var rooms = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("api/rooms", UriKind.Relative)));
        Assert.Empty(rooms.RootElement.GetProperty("rooms").EnumerateArray());
        Assert.Equal(ErrorCodes.NotJoined, (await anonymous.RequestAsync("""{"op":"publish","room":"private:secret","data":1}""")).GetProperty("code").GetString());
        Assert.Equal("reply", Op(await anonymous.RequestAsync("""{"op":"join","room":"public:one-slot"}""")));
    }

    [Fact]
    public async Task ForbiddenPublishLeavesNoPublicationBehind()
    {
        await using var member = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        await member.RequestAsync("""{"op":"join","room":"announce:news"}""");

        AssertForbidden(await member.RequestAsync("""{"op":"publish","room":"announce:news","data":"fake"}"""));
        var api = await PublishViaApiAsync(_server, "announce:news", "real");

        Assert.Equal(1UL, api.GetProperty("offset").GetUInt64());
        var next = await member.ExpectAsync("message");
        Assert.Equal("real", next.GetProperty("data").GetString());
    }

    [Fact]
    public async Task PlainRoomsCheckTheRulesAtConnectAndCloseWith4502()
    {
        await using var anonymous = await ProtocolClient.ConnectAsync(_server.Ws("rooms/private:secret"));
        await using var granted = await _server.OpenWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("private:secret")), path: "rooms/private:secret");
        await using var announcer = await _server.OpenWithTokenAsync(_tokens.Create("alice"), path: "rooms/announce:news");

        await anonymous.AssertClosedWithAsync(CloseCodes.Forbidden);
        await announcer.AssertClosedWithAsync(CloseCodes.Forbidden);
        await granted.SendAsync("hello");
        Assert.Equal("hello", (await granted.NextAsync()).GetString());
    }

    private Task<TestServer> StartAsync(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "true",
        };
        var rules = new[]
        {
            ("public:*", "anyone", "members", true, true),
            ("members:*", "authenticated", "members", true, true),
            ("private:lobby", "anyone", "members", true, true),
            ("private:*", "granted", "members", true, true),
            ("closed:*", "nobody", "members", true, true),
            ("stage:*", "authenticated", "granted", true, true),
            ("announce:*", "anyone", "server", true, true),
            ("quiet:*", "anyone", "members", false, false),
        };
        for (var i = 0; i < rules.Length; i++)
        {
            var (pattern, join, publish, presence, history) = rules[i];
            settings[$"Switchboard:Rooms:Rules:{i}:Pattern"] = pattern;
            settings[$"Switchboard:Rooms:Rules:{i}:Join"] = join;
            settings[$"Switchboard:Rooms:Rules:{i}:Publish"] = publish;
            settings[$"Switchboard:Rooms:Rules:{i}:Presence"] = presence ? "true" : "false";
            settings[$"Switchboard:Rooms:Rules:{i}:History"] = history ? "true" : "false";
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return SecureConnections.StartTokenOnlyServerAsync(_tokens, settings);
    }

    private static async Task<ProtocolClient> ConnectAnonymousAsync(TestServer server)
    {
        var client = await ProtocolClient.ConnectAsync(server.Ws("ws"));
        var welcome = await client.ExpectAsync("welcome");
        Assert.StartsWith("anon-", welcome.GetProperty("user").GetString(), StringComparison.Ordinal);
        return client;
    }

    private static async Task<JsonElement> PublishViaApiAsync(TestServer server, string room, string data)
    {
        using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room, data });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<List<JsonElement>> ReceiveUntilAsync(ProtocolClient client, Func<JsonElement, bool> last)
    {
        var seen = new List<JsonElement>();
        while (true)
        {
            var message = await client.NextAsync();
            seen.Add(message);
            if (last(message))
            {
                return seen;
            }
        }
    }

    private static string? Op(JsonElement message) => message.GetProperty("op").GetString();

    private static void AssertForbidden(JsonElement answer)
    {
        Assert.Equal("error", Op(answer));
        Assert.Equal(ErrorCodes.Forbidden, answer.GetProperty("code").GetString());
    }
}
