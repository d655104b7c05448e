using System.Net.WebSockets;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// Who a connection is: a JWT from the <c>Authorization</c> header, the <c>bearer.</c> subprotocol
/// entry or <c>?token=</c> (in that order), or an <c>auth</c> first message; every kind of bad token
/// is refused with 4501 (4003 when it merely expired) and a reason, before any state is built.
/// </summary>
[Trait("Category", "integration")]
public sealed class AuthenticationTests : IAsyncLifetime
{
    private readonly TokenFactory _tokens = TokenFactory.Hs256();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await SecureConnections.StartTokenOnlyServerAsync(_tokens);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _tokens.Dispose();
    }

    [Theory]
    [InlineData(TokenTransport.Header)]
    [InlineData(TokenTransport.SubProtocol)]
    [InlineData(TokenTransport.Query)]
    public async Task EachTokenSourceAuthenticatesTheConnectionAsTheTokensSubject(TokenTransport via)
    {
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice", via);

        var joined = await client.RequestAsync("""{"op":"join","room":"lobby"}""");

        Assert.Equal("reply", joined.GetProperty("op").GetString());
        var presence = await _server.Hub.PresenceAsync("lobby", CancellationToken.None);
        Assert.Equal(["alice"], presence.Select(p => p.Key));
    }

    [Fact]
    public async Task BrowserTokenInTheSubprotocolIsAcceptedAndTheServerSelectsSwitchboardV1()
    {
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice", TokenTransport.SubProtocol);

        // The server must select an offered subprotocol or browsers fail the handshake; it must
        // never echo the bearer entry, which would put the token into the response.
        Assert.Equal(SecureConnections.SubProtocol, client.Socket.SubProtocol);
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("ES256")]
    public async Task TokensSignedWithThePrivateKeyAreVerifiedWithThePublicKeyFile(string algorithm)
    {
        using var tokens = algorithm == "RS256" ? TokenFactory.Rs256() : TokenFactory.Es256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);

        await using var client = await server.ConnectWithTokenAsync(tokens.Create("carol"), "carol");

        Assert.Equal(algorithm, tokens.Algorithm);
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task BadHeaderTokenWinsOverAGoodQueryTokenAndIsRefused()
    {
        var good = _tokens.Create("alice");
        await using var client = await ProtocolClient.ConnectAsync(
            _server.Ws("ws?token=" + good),
            o => o.SetRequestHeader("Authorization", "Bearer " + TokenFactory.Tampered(good, "mallory")));

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Equal(0, _server.Hub.UserCount);
    }

    [Fact]
    public async Task BadSubprotocolTokenWinsOverAGoodQueryTokenAndIsRefused()
    {
        var good = _tokens.Create("alice");
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws?token=" + good), o =>
        {
            o.AddSubProtocol(SecureConnections.SubProtocol);
            o.AddSubProtocol("bearer." + TokenFactory.Tampered(good, "mallory"));
        });

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
    }

    [Fact]
    public async Task GoodHeaderTokenWinsOverABadSubprotocolToken()
    {
        var good = _tokens.Create("alice");
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"), o =>
        {
            o.SetRequestHeader("Authorization", "Bearer " + good);
            o.AddSubProtocol(SecureConnections.SubProtocol);
            o.AddSubProtocol("bearer." + TokenFactory.Tampered(good, "mallory"));
        });

        var welcome = await client.ExpectAsync("welcome");
        Assert.Equal("alice", welcome.GetProperty("user").GetString());
    }

    [Fact]
    public async Task WithoutATokenAnAuthFirstMessageAuthenticatesAndTheWelcomeFollows()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));

        await client.SendAsync($$"""{"op":"auth","token":"{{_tokens.Create("dora")}}","id":1}""");

        var welcome = await client.NextAsync();
        Assert.Equal("welcome", welcome.GetProperty("op").GetString());
        Assert.Equal("dora", welcome.GetProperty("user").GetString());
        var ack = await client.NextAsync();
        Assert.Equal("reply", ack.GetProperty("op").GetString());
        Assert.Equal(1, ack.GetProperty("id").GetInt32());
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("""{"op":"join","room":"lobby","id":1}""")]
    [InlineData("""{"op":"refresh","token":"x.y.z"}""")]
    [InlineData("""{"op":"auth"}""")]
    [InlineData("{not json")]
    public async Task AFirstMessageThatIsNotAValidAuthClosesWith4501(string first)
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));

        await client.SendAsync(first);

        var reason = await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Contains("auth", reason, StringComparison.Ordinal);
        Assert.Equal(0, _server.Hub.RoomCount);
    }

    [Fact]
    public async Task ABinaryFirstMessageClosesWith4501()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));

        await client.SendRawAsync(BinaryFrames.EncodePublish("lobby", [1, 2, 3]), WebSocketMessageType.Binary);

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
    }

    [Fact]
    public async Task NoAuthWithinTheFirstMessageTimeoutClosesWith4501()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:FirstMessageTimeoutSeconds"] = "0.5",
        });
        await using var client = await ProtocolClient.ConnectAsync(server.Ws("ws"));

        var reason = await client.AssertClosedWithAsync(CloseCodes.Unauthorized);

        Assert.Contains("timeout", reason, StringComparison.Ordinal);
        await server.WaitUntilEmptyAsync();
    }

    [Fact]
    public async Task AuthWithAnExpiredTokenClosesWithTokenExpired()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));
        var expired = _tokens.Create(new TokenClaims { Expires = DateTimeOffset.UtcNow.AddMinutes(-5) });

        await client.SendAsync($$"""{"op":"auth","token":"{{expired}}"}""");

        Assert.Equal("token expired", await client.AssertClosedWithAsync(CloseCodes.TokenExpired));
    }

    [Fact]
    public async Task AuthWithATamperedTokenClosesWith4501()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws"));

        await client.SendAsync($$"""{"op":"auth","token":"{{TokenFactory.Tampered(_tokens.Create("alice"), "admin")}}"}""");

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Equal(0, _server.Hub.UserCount);
    }

    [Fact]
    public async Task AuthOnAnAuthenticatedConnectionIsABadRequestAndChangesNothing()
    {
        await using var client = await _server.ConnectWithTokenAsync(_tokens.Create("alice"), "alice");

        var error = await client.RequestAsync($$"""{"op":"auth","token":"{{_tokens.Create("bob")}}"}""");

        Assert.Equal(ErrorCodes.BadRequest, error.GetProperty("code").GetString());
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"user:alice"}""")).GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("rooms/lobby")]
    public async Task EndpointsWithoutTheProtocolRefuseAConnectionWithoutAToken(string path)
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws(path));

        var reason = await client.AssertClosedWithAsync(CloseCodes.Unauthorized);

        Assert.Contains("token is required", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndpointsWithoutTheProtocolAcceptAValidToken()
    {
        await using var client = await _server.OpenWithTokenAsync(_tokens.Create("alice"), path: "echo");

        await client.SendAsync("ping");

        Assert.Equal("ping", (await client.NextAsync()).GetString());
    }

    public static TheoryData<string> RefusedTokenKinds() =>
    [
        "tampered", "signed with another secret", "alg none", "not yet valid", "without exp", "without sub",
        "sub with a space", "sub too long", "not a jwt", "RS256 to an HS256 server",
    ];

    [Theory]
    [MemberData(nameof(RefusedTokenKinds))]
    public async Task RefusedTokensCloseWith4501AndAReasonThatDoesNotEchoTheToken(string kind)
    {
        using var rsa = TokenFactory.Rs256();
        using var otherSecret = TokenFactory.Hs256("another-secret-that-is-also-32-bytes-long");
        var token = kind switch
        {
            "tampered" => TokenFactory.Tampered(_tokens.Create("alice"), "admin"),
            "signed with another secret" => otherSecret.Create("alice"),
            "alg none" => TokenFactory.AlgNone(new TokenClaims()),
            "not yet valid" => _tokens.Create(new TokenClaims { NotBefore = DateTimeOffset.UtcNow.AddMinutes(10), Expires = DateTimeOffset.UtcNow.AddMinutes(20) }),
            "without exp" => _tokens.Create(new TokenClaims { Expires = null }),
            "without sub" => _tokens.Create(new TokenClaims { Subject = null }),
            "sub with a space" => _tokens.Create(new TokenClaims { Subject = "alice smith" }),
            "sub too long" => _tokens.Create(new TokenClaims { Subject = new string('a', 129) }),
            "not a jwt" => "not-a-jwt",
            _ => rsa.Create("alice"),
        };

        await using var client = await _server.OpenWithTokenAsync(token);

        var reason = await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.StartsWith("invalid token", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[0], reason, StringComparison.Ordinal);
        Assert.Equal(0, _server.Hub.UserCount);
        Assert.Equal(0, _server.Registry.Count);
    }

    [Theory]
    [InlineData("not yet valid", "not yet valid")]
    [InlineData("alg none", "signature")]
    [InlineData("without exp", "exp")]
    [InlineData("tampered", "signature")]
    public async Task RefusalReasonsNameTheCategoryOfTheProblem(string kind, string expected)
    {
        var token = kind switch
        {
            "not yet valid" => _tokens.Create(new TokenClaims { NotBefore = DateTimeOffset.UtcNow.AddMinutes(10), Expires = DateTimeOffset.UtcNow.AddMinutes(20) }),
            "alg none" => TokenFactory.AlgNone(new TokenClaims()),
            "without exp" => _tokens.Create(new TokenClaims { Expires = null }),
            _ => TokenFactory.Tampered(_tokens.Create("alice"), "admin"),
        };

        await using var client = await _server.OpenWithTokenAsync(token);

        Assert.Contains(expected, await client.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExpiredTokenIsRefusedWithTokenExpired()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "0",
        });
        var expired = _tokens.Create(new TokenClaims { Expires = DateTimeOffset.UtcNow.AddSeconds(-5) });

        await using var client = await server.OpenWithTokenAsync(expired);

        Assert.Equal("token expired", await client.AssertClosedWithAsync(CloseCodes.TokenExpired));
        Assert.True(CloseCodes.ShouldReconnect(CloseCodes.TokenExpired), "4003 tells the client to fetch a new token and reconnect");
        Assert.False(CloseCodes.ShouldReconnect(CloseCodes.Unauthorized), "4501 tells the client not to retry the same token");
    }

    [Fact]
    public async Task TokenExpiredFiveSecondsAgoIsAcceptedWithinAThirtySecondClockSkew()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "30",
        });
        var expired = _tokens.Create(new TokenClaims { Expires = DateTimeOffset.UtcNow.AddSeconds(-5) });

        await using var client = await server.OpenWithTokenAsync(expired);

        var first = await client.ExpectAsync(m => true);
        Assert.Equal("welcome", first.GetProperty("op").GetString());
    }

    [Fact]
    public async Task TokenValidFromFiveMinutesAheadIsAcceptedWithinTheClockSkewAndRefusedWithoutIt()
    {
        // Minutes ahead, not seconds: starting two servers on a loaded machine took longer than a
        // five-second margin, and the strict server then rightly accepted a token already valid.
        var early = _tokens.Create(new TokenClaims { NotBefore = DateTimeOffset.UtcNow.AddMinutes(5) });
        await using var lenient = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "600" });
        await using var strict = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "0" });

        await using var accepted = await lenient.ConnectWithTokenAsync(early, "alice");
        await using var refused = await strict.OpenWithTokenAsync(early);

        Assert.Contains("not yet valid", await refused.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssuerAndAudienceAreCheckedWhenConfigured()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Issuer"] = "https://id.example.com",
            ["Switchboard:Auth:Jwt:Audience"] = "switchboard",
        });
        var right = new TokenClaims { Issuer = "https://id.example.com", Audience = "switchboard" };

        await using var accepted = await server.ConnectWithTokenAsync(_tokens.Create(right), "alice");
        await using var wrongAudience = await server.OpenWithTokenAsync(_tokens.Create(right with { Audience = "another-service" }));
        await using var noAudience = await server.OpenWithTokenAsync(_tokens.Create(right with { Audience = null }));
        await using var wrongIssuer = await server.OpenWithTokenAsync(_tokens.Create(right with { Issuer = "https://evil.example.com" }));
        await using var noIssuer = await server.OpenWithTokenAsync(_tokens.Create(right with { Issuer = null }));

        Assert.Contains("audience", await wrongAudience.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
        await noAudience.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Contains("issuer", await wrongIssuer.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
        await noIssuer.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Equal(1, server.Hub.UserCount);
    }

    [Fact]
    public async Task WithoutIssuerAndAudienceConfiguredAnyIssuerAndAudienceAreAccepted()
    {
        var token = _tokens.Create(new TokenClaims { Issuer = "https://anyone.example.com", Audience = "anything" });

        await using var client = await _server.ConnectWithTokenAsync(token, "alice");

        Assert.True(client.IsOpen());
    }

    [Theory]
    [InlineData("HS256 signed with the RSA public key PEM")]
    [InlineData("alg none")]
    [InlineData("ES256 with another key")]
    [InlineData("RS256 with another key")]
    public async Task AnRs256ServerRefusesEveryOtherAlgorithmAndKey(string forgery)
    {
        using var tokens = TokenFactory.Rs256();
        using var otherRsa = TokenFactory.Rs256(key: 1);
        using var ec = TokenFactory.Es256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);
        var token = forgery switch
        {
            "HS256 signed with the RSA public key PEM" => tokens.HmacSignedWithThePublicKey(new TokenClaims()),
            "alg none" => TokenFactory.AlgNone(new TokenClaims()),
            "ES256 with another key" => ec.Create("alice"),
            _ => otherRsa.Create("alice"),
        };

        await using var client = await server.OpenWithTokenAsync(token);

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
        Assert.Equal(0, server.Hub.UserCount);
    }

    [Theory]
    [InlineData("HS256 signed with the EC public key PEM")]
    [InlineData("RS256")]
    public async Task AnEs256ServerRefusesEveryOtherAlgorithm(string forgery)
    {
        using var tokens = TokenFactory.Es256();
        using var rsa = TokenFactory.Rs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);
        var token = forgery == "RS256" ? rsa.Create("alice") : tokens.HmacSignedWithThePublicKey(new TokenClaims());

        await using var client = await server.OpenWithTokenAsync(token);

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
    }

    [Fact]
    public async Task WithAnonymousAccessOnAConnectionWithoutATokenIsAnAnonymousUser()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "true",
        });
        await using var client = await ProtocolClient.ConnectAsync(server.Ws("ws"));

        var welcome = await client.ExpectAsync("welcome");

        Assert.StartsWith("anon-", welcome.GetProperty("user").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAnonymousAccessOnABadTokenIsStillRefusedRatherThanDowngradedToAnonymous()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "true",
        });

        await using var client = await server.OpenWithTokenAsync(TokenFactory.Tampered(_tokens.Create("alice"), "admin"));

        await client.AssertClosedWithAsync(CloseCodes.Unauthorized);
    }

    [Fact]
    public async Task QueryUserIsIgnoredUnlessAllowed()
    {
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(_tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "true",
        });
        await using var client = await ProtocolClient.ConnectAsync(server.Ws("ws?user=alice"));

        var welcome = await client.ExpectAsync("welcome");

        Assert.NotEqual("alice", welcome.GetProperty("user").GetString());
        Assert.StartsWith("anon-", welcome.GetProperty("user").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnyIdentitySourceEveryConnectionIsRefusedWith4501()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "false",
            ["Switchboard:Auth:AllowQueryUser"] = "false",
        });

        await using var client = await ProtocolClient.ConnectAsync(server.Ws("ws"));
        await using var withToken = await server.OpenWithTokenAsync(_tokens.Create("alice"));

        Assert.Contains("anonymous access is disabled", await client.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
        await withToken.AssertClosedWithAsync(CloseCodes.Unauthorized);
    }

    [Fact]
    public async Task QueryTokensNeverAppearInSwitchboardLogsAtAnyLevel()
    {
        var logs = new CapturingLoggerProvider(Microsoft.Extensions.Logging.LogLevel.Trace);
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?>(_tokens.ServerSettings)
            {
                ["Switchboard:Auth:AllowAnonymous"] = "false",
                ["Switchboard:Auth:AllowQueryUser"] = "false",
            },
            logs);
        var good = _tokens.Create("alice");
        var bad = TokenFactory.Tampered(_tokens.Create("bob"), "admin");

        await using (var accepted = await server.ConnectWithTokenAsync(good, "alice", TokenTransport.Query))
        {
            await accepted.RequestAsync("""{"op":"join","room":"lobby"}""");
            await accepted.CloseAsync();
        }

        await using (var refused = await server.OpenWithTokenAsync(bad, TokenTransport.Query))
        {
            await refused.AssertClosedWithAsync(CloseCodes.Unauthorized);
        }

        await server.WaitUntilEmptyAsync();
        var switchboardLogs = logs.Entries.Where(e => e.Category.StartsWith("Switchboard", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(switchboardLogs);
        foreach (var secret in new[] { good.Split('.')[2], bad.Split('.')[1], bad.Split('.')[2] })
        {
            Assert.DoesNotContain(switchboardLogs, e => e.Message.Contains(secret, StringComparison.Ordinal) || e.ToString().Contains(secret, StringComparison.Ordinal));
        }
    }
}
