using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>Presence (queries and joined/left events) and direct messages to users, over a real socket and the HTTP API.</summary>
[Trait("Category", "integration")]
public sealed class PresenceAndDirectTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PresenceListsUsersWithTheirConnectionCounts()
    {
        await using var aliceLaptop = await _server.ConnectAsync("alice");
        await using var alicePhone = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        await using var observer = await _server.ConnectAsync("observer");
        foreach (var client in new[] { aliceLaptop, alicePhone, bob })
        {
            await client.RequestAsync("""{"op":"join","room":"lobby"}""");
        }

        var presence = await observer.RequestAsync("""{"op":"presence","room":"lobby"}""");
        Assert.Equal("reply", presence.GetProperty("op").GetString());
        Assert.Equal("lobby", presence.GetProperty("room").GetString());
        Assert.Equal(new Dictionary<string, int> { ["alice"] = 2, ["bob"] = 1 }, Users(presence));

        using var http = JsonDocument.Parse(await _server.Http.GetStringAsync(new Uri("api/rooms/lobby/presence", UriKind.Relative)));
        Assert.Equal("lobby", http.RootElement.GetProperty("room").GetString());
        Assert.Equal(new Dictionary<string, int> { ["alice"] = 2, ["bob"] = 1 }, Users(http.RootElement));
    }

    [Fact]
    public async Task PresenceCountsDropAsConnectionsLeaveOrDisconnect()
    {
        await using var aliceLaptop = await _server.ConnectAsync("alice");
        await using var alicePhone = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        foreach (var client in new[] { aliceLaptop, alicePhone, bob })
        {
            await client.RequestAsync("""{"op":"join","room":"lobby"}""");
        }

        await alicePhone.RequestAsync("""{"op":"leave","room":"lobby"}""");
        Assert.Equal(new Dictionary<string, int> { ["alice"] = 1, ["bob"] = 1 }, Users(await bob.RequestAsync("""{"op":"presence","room":"lobby"}""")));

        await aliceLaptop.CloseAsync();
        await Eventually.TrueAsync(() => _server.Registry.Count == 2, "alice's laptop is unregistered");
        Assert.Equal(new Dictionary<string, int> { ["bob"] = 1 }, Users(await bob.RequestAsync("""{"op":"presence","room":"lobby"}""")));
    }

    [Fact]
    public async Task PresenceOfAnEmptyRoomListsNoUsers()
    {
        await using var client = await _server.ConnectAsync();
        var presence = await client.RequestAsync("""{"op":"presence","room":"nobody-here"}""");
        Assert.Empty(Users(presence));

        using var http = JsonDocument.Parse(await _server.Http.GetStringAsync(new Uri("api/rooms/nobody-here/presence", UriKind.Relative)));
        Assert.Empty(Users(http.RootElement));
    }

    [Fact]
    public async Task HttpPresenceOfAnInvalidRoomIsAnInvalidRoom()
    {
        using var response = await _server.Http.GetAsync(new Uri("api/rooms/bad%20room/presence", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_room", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task MembersSeeJoinedForAUsersFirstConnectionOnly()
    {
        await using var bob = await _server.ConnectAsync("bob");
        await using var aliceLaptop = await _server.ConnectAsync("alice");
        await using var alicePhone = await _server.ConnectAsync("alice");
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");
        Assert.Equal(("joined", "bob"), PresenceEvent(await bob.NextAsync()));

        await aliceLaptop.RequestAsync("""{"op":"join","room":"lobby"}""");
        var joined = await bob.NextAsync();
        Assert.Equal(("joined", "alice"), PresenceEvent(joined));
        Assert.Equal("lobby", joined.GetProperty("room").GetString());

        await alicePhone.RequestAsync("""{"op":"join","room":"lobby"}""");
        // Presence events are queued before the join reply; a publication after the reply proves none came.
        await alicePhone.RequestAsync("""{"op":"publish","room":"lobby","data":"after second device"}""");
        var next = await bob.NextAsync();
        Assert.Equal("message", next.GetProperty("op").GetString());
        Assert.Equal("after second device", next.GetProperty("data").GetString());
    }

    [Fact]
    public async Task JoiningConnectionGetsItsOwnJoinedAfterItsReply()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.SendAsync("""{"op":"join","room":"lobby","id":"j"}""");
        var reply = await alice.NextAsync();
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal(("joined", "alice"), PresenceEvent(await alice.NextAsync()));
    }

    [Fact]
    public async Task MembersSeeLeftOnlyWhenAUsersLastConnectionLeaves()
    {
        await using var bob = await _server.ConnectAsync("bob");
        await using var aliceLaptop = await _server.ConnectAsync("alice");
        await using var alicePhone = await _server.ConnectAsync("alice");
        await aliceLaptop.RequestAsync("""{"op":"join","room":"lobby"}""");
        await alicePhone.RequestAsync("""{"op":"join","room":"lobby"}""");
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");
        Assert.Equal(("joined", "bob"), PresenceEvent(await bob.NextAsync()));

        // The first device leaves: alice is still present, so no event.
        await aliceLaptop.RequestAsync("""{"op":"leave","room":"lobby"}""");
        await alicePhone.RequestAsync("""{"op":"publish","room":"lobby","data":"still here"}""");
        var next = await bob.NextAsync();
        Assert.Equal("message", next.GetProperty("op").GetString());
        Assert.Equal("still here", next.GetProperty("data").GetString());

        // The last device leaves.
        await alicePhone.RequestAsync("""{"op":"leave","room":"lobby"}""");
        var left = await bob.NextAsync();
        Assert.Equal(("left", "alice"), PresenceEvent(left));
        Assert.Equal("lobby", left.GetProperty("room").GetString());
    }

    [Fact]
    public async Task MembersSeeLeftWhenAUsersLastConnectionDisconnects()
    {
        await using var bob = await _server.ConnectAsync("bob");
        await using var aliceLaptop = await _server.ConnectAsync("alice");
        await using var alicePhone = await _server.ConnectAsync("alice");
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");
        await aliceLaptop.RequestAsync("""{"op":"join","room":"lobby"}""");
        await alicePhone.RequestAsync("""{"op":"join","room":"lobby"}""");
        Assert.Equal(("joined", "bob"), PresenceEvent(await bob.NextAsync()));
        Assert.Equal(("joined", "alice"), PresenceEvent(await bob.NextAsync()));

        await aliceLaptop.CloseAsync();
        await Eventually.TrueAsync(() => _server.Registry.Count == 2, "alice's laptop is unregistered");
        await alicePhone.RequestAsync("""{"op":"publish","room":"lobby","data":"phone still here"}""");
        var next = await bob.NextAsync();
        Assert.Equal("message", next.GetProperty("op").GetString());

        // An abrupt drop, not a close handshake.
        alicePhone.Socket.Abort();
        Assert.Equal(("left", "alice"), PresenceEvent(await bob.NextAsync()));
    }

    [Fact]
    public async Task SendReachesEveryConnectionOfTheTargetUserAndNobodyElse()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bobLaptop = await _server.ConnectAsync("bob");
        await using var bobPhone = await _server.ConnectAsync("bob");
        await using var carol = await _server.ConnectAsync("carol");

        var ack = await alice.RequestAsync("""{"op":"send","user":"bob","data":{"text":"psst"}}""");
        Assert.Equal("reply", ack.GetProperty("op").GetString());

        foreach (var device in new[] { bobLaptop, bobPhone })
        {
            var direct = await device.NextAsync();
            Assert.Equal("direct", direct.GetProperty("op").GetString());
            Assert.Equal("alice", direct.GetProperty("from").GetString());
            Assert.Equal("psst", direct.GetProperty("data").GetProperty("text").GetString());
        }

        // Deliveries of one sender's commands are queued in order: a later direct to carol (and to
        // alice herself) arriving first proves the one to bob reached neither of them.
        await alice.RequestAsync("""{"op":"send","user":"carol","data":"for carol"}""");
        await alice.RequestAsync("""{"op":"send","user":"alice","data":"for alice"}""");
        Assert.Equal("for carol", (await carol.NextAsync()).GetProperty("data").GetString());
        var self = await alice.NextAsync();
        Assert.Equal("direct", self.GetProperty("op").GetString());
        Assert.Equal("for alice", self.GetProperty("data").GetString());
    }

    [Fact]
    public async Task SendDoesNotNeedASharedRoomAndKeepsDataRaw()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        await alice.RequestAsync("""{"op":"join","room":"only-alice"}""");

        await alice.SendAsync("""{"op":"send","user":"bob","data":[1, "two", {"three": null}]}""");
        var direct = await bob.NextAsync();
        Assert.Equal("""[1, "two", {"three": null}]""", direct.GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task HttpSendReachesTheUserWithANullFrom()
    {
        await using var bobLaptop = await _server.ConnectAsync("bob");
        await using var bobPhone = await _server.ConnectAsync("bob");

        using var response = await _server.Http.PostAsJsonAsync(new Uri("api/send", UriKind.Relative), new { user = "bob", data = new { text = "from the backend" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Empty(body.RootElement.EnumerateObject());

        foreach (var device in new[] { bobLaptop, bobPhone })
        {
            var direct = await device.NextAsync();
            Assert.Equal("direct", direct.GetProperty("op").GetString());
            Assert.Equal(JsonValueKind.Null, direct.GetProperty("from").ValueKind);
            Assert.Equal("from the backend", direct.GetProperty("data").GetProperty("text").GetString());
        }
    }

    [Theory]
    [InlineData("""{"data":1}""", "invalid_field")]
    [InlineData("""{"user":"bob smith","data":1}""", "invalid_user")]
    [InlineData("""{"user":"bob"}""", "invalid_field")]
    [InlineData("""[1]""", "bad_request")]
    public async Task HttpSendWithABadBodyIsRejected(string body, string code)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await _server.Http.PostAsync(new Uri("api/send", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task SendToAnOfflineUserGetsAPlainAck()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.SendAsync("""{"op":"send","user":"nobody-online","data":"hello?","id":"s1"}""");
        var ack = await alice.NextAsync();
        Assert.Equal(["op", "id"], ack.EnumerateObject().Select(p => p.Name));
        Assert.Equal("reply", ack.GetProperty("op").GetString());
        Assert.Equal("s1", ack.GetProperty("id").GetString());
    }

    [Fact]
    public async Task SendWithoutIdIsSilentOnSuccess()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.SendAsync("""{"op":"send","user":"nobody-online","data":1}""");
        await alice.SendAsync("""{"op":"presence","room":"r","id":"next"}""");
        Assert.Equal("next", (await alice.NextAsync()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task DirectsReachAUserWhoReconnects()
    {
        await using (var first = await _server.ConnectAsync("bob"))
        {
            await first.CloseAsync();
        }

        await Eventually.TrueAsync(() => _server.Hub.UserCount == 0, "bob's first connection is gone");
        await using var again = await _server.ConnectAsync("bob");
        await using var alice = await _server.ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"send","user":"bob","data":"welcome back"}""");
        Assert.Equal("welcome back", (await again.NextAsync()).GetProperty("data").GetString());
    }

    private static Dictionary<string, int> Users(JsonElement reply) =>
        reply.GetProperty("users").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());

    private static (string? Op, string? User) PresenceEvent(JsonElement message) =>
        (message.GetProperty("op").GetString(), message.TryGetProperty("user", out var user) ? user.GetString() : null);
}
