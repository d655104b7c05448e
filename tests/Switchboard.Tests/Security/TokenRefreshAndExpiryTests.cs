using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// A connection lives as long as its token: it is closed with 4003 at <c>exp</c> unless a
/// <c>refresh</c> with a new token of the same user moves the deadline. Clock skew is 0 here, so
/// the deadlines are the tokens' own. Nothing here sleeps: a second connection whose token expires at
/// the same second is the clock that says the old deadline has passed.
/// </summary>
[Collection(TimingSensitive.Name)]
[Trait("Category", "integration")]
public sealed class TokenRefreshAndExpiryTests : IAsyncLifetime
{
    // The deadline watcher sweeps every 0.25 s; the rest is margin for a busy machine.
    private static readonly TimeSpan ExpiryPrecision = TimeSpan.FromSeconds(1.5);

    private readonly TokenFactory _tokens = TokenFactory.Hs256();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
    {
        ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "0",
    });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tokens.Dispose();
    }

    [Fact]
    public async Task ConnectionWhoseTokenExpiresIsClosedWithTokenExpiredSoonAfterExp()
    {
        var expires = ShortExpiry();
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create(new TokenClaims { Expires = expires }), "alice");
        await client.RequestAsync("""{"op":"join","room":"lobby"}""");

        Assert.Equal("token expired", await client.AssertClosedWithAsync(CloseCodes.TokenExpired));

        var closedAt = DateTimeOffset.UtcNow;
        Assert.True(closedAt >= expires, $"closed at {closedAt:O}, before the token's exp {expires:O}");
        Assert.True(closedAt - expires <= ExpiryPrecision, $"closed {(closedAt - expires).TotalSeconds:F2} s after exp");
        await _server.AssertNothingRemainsAsync();
    }

    [Fact]
    public async Task RefreshWithANewTokenOfTheSameUserKeepsTheConnectionPastTheOldExpiry()
    {
        var expires = ShortExpiry();
        await using var refreshed = await _server.ConnectWithTokenAsync(_tokens.Create(new TokenClaims { Expires = expires }), "alice");
        await using var clock = await _server.ConnectWithTokenAsync(_tokens.Create(new TokenClaims { Subject = "clock", Expires = expires }), "clock");
        await refreshed.RequestAsync("""{"op":"join","room":"lobby"}""");

        var ack = await refreshed.RequestAsync($$"""{"op":"refresh","token":"{{_tokens.Create(TokenClaims.For("alice"))}}"}""");
        Assert.Equal("reply", ack.GetProperty("op").GetString());

        await clock.AssertClosedWithAsync(CloseCodes.TokenExpired);
        Assert.True(refreshed.IsOpen(), "the refreshed connection outlived its first token");
        var published = await refreshed.RequestAsync("""{"op":"publish","room":"lobby","data":"still here"}""");
        Assert.Equal("reply", published.GetProperty("op").GetString());
    }

    [Fact]
    public async Task RefreshWithAnotherUsersTokenIsForbiddenAndChangesNothing()
    {
        var expires = ShortExpiry();
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create(new TokenClaims { Expires = expires }), "alice");

        var error = await client.RequestAsync($$"""{"op":"refresh","token":"{{_tokens.Create(TokenClaims.For("bob"))}}"}""");

        Assert.Equal(ErrorCodes.Forbidden, error.GetProperty("code").GetString());
        Assert.Equal(ErrorCodes.Forbidden, (await client.RequestAsync("""{"op":"join","room":"user:bob"}""")).GetProperty("code").GetString());
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"user:alice"}""")).GetProperty("op").GetString());
        await client.AssertClosedWithAsync(CloseCodes.TokenExpired);
        Assert.True(DateTimeOffset.UtcNow - expires <= ExpiryPrecision, "the refused refresh did not move the deadline");
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("expired")]
    [InlineData("alg none")]
    public async Task RefreshWithABadTokenIsUnauthorizedAndTheConnectionWorksUntilItsOwnExpiry(string kind)
    {
        var expires = ShortExpiry();
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create(new TokenClaims { Expires = expires }), "alice");
        var bad = kind switch
        {
            "tampered" => TokenFactory.Tampered(_tokens.Create(TokenClaims.For("alice")), "alice2"),
            "expired" => _tokens.Create(new TokenClaims { Expires = DateTimeOffset.UtcNow.AddMinutes(-1) }),
            _ => TokenFactory.AlgNone(TokenClaims.For("alice")),
        };

        var error = await client.RequestAsync($$"""{"op":"refresh","token":"{{bad}}"}""");

        Assert.Equal(ErrorCodes.Unauthorized, error.GetProperty("code").GetString());
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());
        await client.AssertClosedWithAsync(CloseCodes.TokenExpired);
        Assert.True(DateTimeOffset.UtcNow - expires <= ExpiryPrecision, "the refused refresh did not move the deadline");
    }

    [Fact]
    public async Task RefreshReplacesTheRoomsTheTokenGrants()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Rooms:Rules:0:Pattern"] = "private:*",
            ["Switchboard:Rooms:Rules:0:Join"] = "granted",
        });
        await using var client = await server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");
        Assert.Equal(ErrorCodes.Forbidden, (await client.RequestAsync("""{"op":"join","room":"private:team"}""")).GetProperty("code").GetString());

        await client.RequestAsync($$"""{"op":"refresh","token":"{{_tokens.Create(TokenClaims.For("alice").Granting("private:team"))}}"}""");

        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"private:team"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task AuthFirstMessageTokenExpiryAlsoClosesTheConnection()
    {
        var expires = ShortExpiry();
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));
        await client.SendAsync($$"""{"op":"auth","token":"{{_tokens.Create(new TokenClaims { Expires = expires })}}"}""");
        await client.ExpectAsync("welcome");

        await client.AssertClosedWithAsync(CloseCodes.TokenExpired);

        Assert.True(DateTimeOffset.UtcNow - expires <= ExpiryPrecision);
    }

    [Fact]
    public async Task TokenAcceptedWithinTheClockSkewIsNotClosedAsExpiredAtTheNextSweep()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "30",
            ["Switchboard:Auth:FirstMessageTimeoutSeconds"] = "0.5",
        });
        var expiredFiveSecondsAgo = _tokens.Create(new TokenClaims { Expires = DateTimeOffset.UtcNow.AddSeconds(-5) });
        await using var skewed = await server.ConnectWithTokenAsync(expiredFiveSecondsAgo, "alice");

        // A connection that never authenticates is closed by the same deadline sweep, half a second
        // on: by then any sweep that thought the skewed token's deadline was past has run.
        await using var clock = await ProtocolClient.ConnectAsync(server.Ws("ws"));
        await clock.AssertClosedWithAsync(CloseCodes.Unauthorized);

        Assert.True(skewed.IsOpen(), $"a token accepted within the 30 s clock skew was closed with {(int?)skewed.Socket.CloseStatus} ({skewed.Socket.CloseStatusDescription}) at once");
    }

    /// <summary>
    /// An <c>exp</c> 2 to 3 seconds ahead: JWT times are whole seconds, so this is the next whole
    /// second at least two seconds away, which the connection reaches quickly but not before the
    /// test has set it up.
    /// </summary>
    private static DateTimeOffset ShortExpiry() =>
        DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddSeconds(3).ToUnixTimeSeconds());
}
