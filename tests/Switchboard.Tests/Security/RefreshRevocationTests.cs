using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// Membership is a right checked at join; a <c>refresh</c> whose token no longer grants a room takes
/// that right away. The connection leaves the room on the spot and is told with a <c>removed</c>
/// message (before the refresh reply), the other members see it leave, and nothing of the room
/// reaches it any more. Rooms it may still join are kept.
/// </summary>
[Trait("Category", "integration")]
public sealed class RefreshRevocationTests : IAsyncLifetime
{
    private readonly TokenFactory _tokens = TokenFactory.Hs256();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
    {
        ["Switchboard:Rooms:Rules:0:Pattern"] = "private:*",
        ["Switchboard:Rooms:Rules:0:Join"] = "granted",
        ["Switchboard:Rooms:Rules:0:Publish"] = "members",
    });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tokens.Dispose();
    }

    [Fact]
    public async Task ARefreshThatNoLongerGrantsARoomRemovesTheConnectionFromItAndItStopsReceivingIt()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("private:a", "private:b")), "alice");
        await using var bob = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("bob").Granting("private:a", "private:b")), "bob");
        await alice.RequestAsync("""{"op":"join","room":"private:a"}""");
        await alice.RequestAsync("""{"op":"join","room":"private:b"}""");
        await bob.RequestAsync("""{"op":"join","room":"private:a"}""");
        await bob.RequestAsync("""{"op":"join","room":"private:b"}""");

        var refresh = await alice.SendWithIdAsync($$"""{"op":"refresh","token":"{{_tokens.Create(TokenClaims.For("alice").Granting("private:b"))}}"}""");
        var removed = await NextOfAsync(alice, "removed", "reply");
        var reply = await NextOfAsync(alice, "removed", "reply");
        Assert.Equal("removed", removed.GetProperty("op").GetString());
        Assert.Equal("reply", reply.GetProperty("op").GetString());

        Assert.Equal("private:a", removed.GetProperty("room").GetString());
        Assert.Equal(ErrorCodes.Forbidden, removed.GetProperty("code").GetString());
        Assert.Equal(refresh, reply.GetProperty("id").GetInt32());
        var left = await bob.ExpectAsync(m => m.GetProperty("op").GetString() == "left" && m.GetProperty("room").GetString() == "private:a");
        Assert.Equal("alice", left.GetProperty("user").GetString());

        // Bob publishes to the revoked room, then to the kept one: alice's next message is the second.
        await bob.RequestAsync("""{"op":"publish","room":"private:a","data":"after revocation"}""");
        await bob.RequestAsync("""{"op":"publish","room":"private:b","data":"still yours"}""");
        var next = await alice.ExpectAsync("message");
        Assert.Equal("private:b", next.GetProperty("room").GetString());
        Assert.DoesNotContain(alice.RawTextFrames, f => f.Contains("after revocation", StringComparison.Ordinal));
        Assert.Equal(ErrorCodes.NotJoined, (await alice.RequestAsync("""{"op":"publish","room":"private:a","data":"x"}""")).GetProperty("code").GetString());
        Assert.Equal(ErrorCodes.Forbidden, (await alice.RequestAsync("""{"op":"join","room":"private:a"}""")).GetProperty("code").GetString());
        Assert.Equal(1, _server.Hub.Rooms().Single(r => r.Room == "private:a").Users);
    }

    [Fact]
    public async Task ARefreshThatKeepsEveryRoomRemovesNothing()
    {
        await using var alice = await _server.ConnectWithTokenAsync(_tokens.Create(TokenClaims.For("alice").Granting("private:*")), "alice");
        await alice.RequestAsync("""{"op":"join","room":"private:a"}""");
        await alice.RequestAsync("""{"op":"join","room":"public"}""");

        await alice.RequestAsync($$"""{"op":"refresh","token":"{{_tokens.Create(TokenClaims.For("alice").Granting("private:a"))}}"}""");

        Assert.DoesNotContain(alice.RawTextFrames, f => f.Contains("\"removed\"", StringComparison.Ordinal));
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"publish","room":"private:a","data":"kept"}""")).GetProperty("op").GetString());
    }

    /// <summary>The next message whose op is one of <paramref name="ops"/>, in arrival order (presence events and messages skipped).</summary>
    private static async Task<JsonElement> NextOfAsync(ProtocolClient client, params string[] ops)
    {
        while (true)
        {
            var message = await client.NextAsync();
            if (ops.Contains(message.GetProperty("op").GetString()))
            {
                return message;
            }
        }
    }
}
