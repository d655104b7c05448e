using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// What an upgrade must pass before the server spends anything on it: the origin allow-list (403),
/// the node's accept rate (503 with Retry-After), connections per client IP (429, with
/// <c>X-Forwarded-For</c> believed only from trusted proxies); and after identification, connections
/// per user (close 4504).
/// </summary>
[Trait("Category", "integration")]
public sealed class OriginAndAdmissionTests
{
    private const string ForeignOrigin = "https://evil.example.com";

    [Fact]
    public async Task RequestsWithoutAnOriginAreAllowed()
    {
        await using var server = await TestServer.StartAsync();

        var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/ws");

        Assert.True(answer.Upgraded, $"got {answer.Status}");
    }

    [Fact]
    public async Task TheServersOwnOriginIsAllowed()
    {
        await using var server = await TestServer.StartAsync();

        await using var client = await ProtocolClient.ConnectAsync(server.Ws("ws"), o => o.SetRequestHeader("Origin", "http://" + server.BaseUri.Authority));

        Assert.Equal("welcome", (await client.NextAsync()).GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("ws")]
    [InlineData("echo")]
    [InlineData("rooms/lobby")]
    public async Task AForeignOriginIsRefusedWith403BeforeTheUpgrade(string path)
    {
        await using var server = await TestServer.StartAsync();

        var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/" + path, new Dictionary<string, string> { ["Origin"] = ForeignOrigin });

        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Equal(ErrorCodes.Forbidden, answer.ErrorCode);
        Assert.Equal(0, server.Registry.Count);
    }

    [Fact]
    public async Task AForeignOriginMakesTheClientConnectFailWithTheStatus()
    {
        await using var server = await TestServer.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", ForeignOrigin);
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.Ws("ws"), timeout.Token));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Fact]
    public async Task AForeignOriginIsRefusedEvenWithAValidToken()
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens);

        var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string>
        {
            ["Origin"] = ForeignOrigin,
            ["Authorization"] = "Bearer " + tokens.Create("alice"),
        });

        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
    }

    [Fact]
    public async Task ADnsRebindingPageMatchesTheHostHeaderButNotAConfiguredPublicOrigin()
    {
        // A page on rebind.example whose name now resolves to this server: its Origin and the Host its
        // browser sends agree, so a check against Host lets it in; a configured public origin does not.
        var rebinding = new Dictionary<string, string> { ["Origin"] = "http://rebind.example:8080", ["Host"] = "rebind.example:8080" };
        await using (var byHost = await TestServer.StartAsync())
        {
            Assert.True((await UpgradeProbe.SendAsync(byHost.BaseUri, "/ws", rebinding)).Upgraded);
        }

        await using var byOrigin = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:PublicOrigin"] = "https://chat.example.com" });
        var refused = await UpgradeProbe.SendAsync(byOrigin.BaseUri, "/ws", rebinding);
        var own = await UpgradeProbe.SendAsync(byOrigin.BaseUri, "/ws", new Dictionary<string, string> { ["Origin"] = "https://chat.example.com" });

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.True(own.Upgraded);
    }

    [Theory]
    [InlineData("https://app.example.com", "https://app.example.com", true)]
    [InlineData("https://app.example.com", "https://APP.example.com", true)]
    [InlineData("https://app.example.com", "https://app.example.com:443", true)]
    [InlineData("https://app.example.com", "http://app.example.com", false)]
    [InlineData("https://app.example.com", "https://app.example.com:8443", false)]
    [InlineData("https://app.example.com", "https://app.example.com.evil.example", false)]
    [InlineData("https://app.example.com", "null", false)]
    [InlineData("*", ForeignOrigin, true)]
    [InlineData("*", "null", true)]
    public async Task ConfiguredOriginsAreAllowedAndOthersAreNot(string configured, string origin, bool allowed)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:AllowedOrigins:0"] = configured });

        var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["Origin"] = origin });

        Assert.Equal(allowed ? HttpStatusCode.SwitchingProtocols : HttpStatusCode.Forbidden, answer.Status);
    }

    [Theory]
    [InlineData("http://localhost:5173", false, false)]
    [InlineData("http://localhost:5173", true, true)]
    [InlineData("http://127.0.0.1:3000", true, true)]
    [InlineData("http://[::1]:3000", true, true)]
    [InlineData("http://localhost.evil.example:3000", true, false)]
    public async Task LocalhostOriginsAreAllowedOnlyWithAllowLocalhostOrigins(string origin, bool allowLocalhost, bool allowed)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:AllowLocalhostOrigins"] = allowLocalhost ? "true" : "false",
        });

        var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["Origin"] = origin });

        Assert.Equal(allowed ? HttpStatusCode.SwitchingProtocols : HttpStatusCode.Forbidden, answer.Status);
    }

    [Fact]
    public async Task AThirdConnectionFromOneIpOverALimitOfTwoGets429UntilOneLeaves()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerIp"] = "2" });
        await using var first = await server.ConnectAsync("alice");
        await using var second = await server.ConnectAsync("bob");

        var third = await UpgradeProbe.SendAsync(server.BaseUri, "/ws?user=carol");

        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Equal("refused", third.ErrorCode);
        await first.CloseAsync();
        await Eventually.TrueAsync(() => server.Registry.Count == 1, "the first connection has gone");
        await using var replacement = await server.ConnectAsync("carol");
    }

    [Fact]
    public async Task ForwardedForFromATrustedProxyGivesEachClientItsOwnCount()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "2",
            ["Switchboard:TrustedProxies:0"] = "127.0.0.1",
        });

        await using var a1 = await ConnectForwardedAsync(server, "203.0.113.1");
        await using var a2 = await ConnectForwardedAsync(server, "203.0.113.1");
        await using var b1 = await ConnectForwardedAsync(server, "203.0.113.2");
        await using var b2 = await ConnectForwardedAsync(server, "203.0.113.2");
        var a3 = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.1" });

        Assert.Equal(HttpStatusCode.TooManyRequests, a3.Status);
        Assert.Equal(4, server.Registry.Count);
    }

    [Fact]
    public async Task ForwardedForIsReadFromTheRightSoAClientCannotSpoofItsWayPastTheLimit()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "2",
            ["Switchboard:TrustedProxies:0"] = "127.0.0.1",
            ["Switchboard:TrustedProxies:1"] = "10.0.0.7",
        });

        // The client made up the first hop; the proxies appended the real address and their own.
        await using var first = await ConnectForwardedAsync(server, "198.51.100.1, 203.0.113.9, 10.0.0.7");
        await using var second = await ConnectForwardedAsync(server, "198.51.100.2, 203.0.113.9, 10.0.0.7");
        var third = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.3, 203.0.113.9, 10.0.0.7" });

        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
    }

    [Fact]
    public async Task ATrustedProxyNetworkCountsEachForwardedClientSeparately()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "1",
            ["Switchboard:TrustedProxies:0"] = "127.0.0.0/8",
        });

        await using var a = await ConnectForwardedAsync(server, "203.0.113.1");
        await using var b = await ConnectForwardedAsync(server, "203.0.113.2");
        var secondA = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.1" });

        Assert.Equal(HttpStatusCode.TooManyRequests, secondA.Status);
        Assert.Equal(2, server.Registry.Count);
    }

    [Fact]
    public async Task ForwardedForFromAnUntrustedPeerIsIgnored()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "2",
            ["Switchboard:TrustedProxies:0"] = "10.0.0.7",
        });

        await using var first = await ConnectForwardedAsync(server, "203.0.113.1");
        await using var second = await ConnectForwardedAsync(server, "203.0.113.2");
        var third = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.3" });

        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
    }

    [Fact]
    public async Task AThirdConnectionOfOneUserOverALimitOfTwoIsClosedWith4504UntilOneLeaves()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerUser"] = "2" });
        await using var first = await server.ConnectAsync("alice");
        await using var second = await server.ConnectAsync("alice");
        await using var someoneElse = await server.ConnectAsync("bob");

        await using var third = await ProtocolClient.ConnectAsync(server.Ws("ws?user=alice"));
        Assert.Contains("alice", await third.AssertClosedWithAsync(CloseCodes.TooManyConnections), StringComparison.Ordinal);

        await first.CloseAsync();
        await Eventually.TrueAsync(() => server.Registry.Count == 2, "alice's first connection has gone");
        await using var replacement = await server.ConnectAsync("alice");
        Assert.True(replacement.IsOpen());
    }

    [Fact]
    public async Task PerUserLimitAlsoAppliesToConnectionsThatAuthenticateWithTheirFirstMessage()
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens, new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerUser"] = "1" });
        await using var first = await server.ConnectWithTokenAsync(tokens.Create("alice"), "alice");
        await using var second = await ProtocolClient.ConnectAsync(server.Ws("ws"));

        await second.SendAsync($$"""{"op":"auth","token":"{{tokens.Create("alice")}}"}""");

        await second.AssertClosedWithAsync(CloseCodes.TooManyConnections);
        Assert.True(first.IsOpen());
    }

    [Fact]
    public async Task AConnectionRefusedAtTheUserLimitNeverActsAsThatUserEvenInTheFrameItAlreadySent()
    {
        using var tokens = TokenFactory.Hs256();
        await using var server = await SecureConnections.StartTokenOnlyServerAsync(tokens, new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxConnectionsPerUser"] = "1",
            ["Switchboard:Api:AllowWithoutKey"] = "true",
        });
        await using var first = await server.ConnectWithTokenAsync(tokens.Create("alice"), "alice");
        await first.RequestAsync("""{"op":"join","room":"vip"}""");
        await using var second = await ProtocolClient.ConnectAsync(server.Ws("ws"));

        // A join and a publish ride in the same frame as the auth that the per-user limit refuses.
        await second.SendAsync($$"""
            {"op":"auth","token":"{{tokens.Create("alice")}}"}
            {"op":"join","room":"vip"}
            {"op":"publish","room":"vip","data":"intruder"}
            """);
        await second.AssertClosedWithAsync(CloseCodes.TooManyConnections);

        // The room's first publication is the sentinel: the refused connection published nothing.
        using var sentinel = await server.Http.PostAsync("/api/publish", new StringContent("""{"room":"vip","data":"sentinel"}""", System.Text.Encoding.UTF8, "application/json"));
        sentinel.EnsureSuccessStatusCode();
        var message = await first.ExpectAsync("message");
        Assert.Equal("sentinel", message.GetProperty("data").GetString());
        Assert.Equal(1, message.GetProperty("offset").GetInt32());
    }

    [Fact]
    public async Task NewConnectionsBeyondTheAcceptRateGet503WithRetryAfterAndLaterOnesGetIn()
    {
        // A burst of 10 accepts, refilled at 1 per 100 ms: back-to-back upgrades outrun the refill
        // within a handful of attempts, however slow the machine.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:AcceptsPerSecond"] = "10" });
        using var handler = new SocketsHttpHandler();

        var refused = await FirstRefusalAsync(server, handler, attempts: 200);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("1", refused.RetryAfter);
        Assert.Equal("refused", refused.ErrorCode);
        await AcceptedWithinAsync(server, handler, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AnAcceptRateBelowTenPerSecondIsHonoured()
    {
        // AcceptsPerSecond=1: a burst of 1, then 1 more per second. Within one second, no more than
        // two upgrades may succeed however hard a client tries.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:AcceptsPerSecond"] = "1" });
        using var handler = new SocketsHttpHandler();
        var window = Stopwatch.StartNew();
        var accepted = 0;
        var attempts = 0;

        while (window.Elapsed < TimeSpan.FromSeconds(1))
        {
            attempts++;
            if ((await UpgradeProbe.SendAsync(handler, server.BaseUri, "/ws")).Upgraded)
            {
                accepted++;
            }
        }

        Assert.True(attempts > 5, $"only {attempts} attempts were made: the machine is too slow for this check");
        Assert.True(accepted <= 2, $"{accepted} of {attempts} upgrades within 1 s were accepted with Limits:AcceptsPerSecond=1");
    }

    /// <summary>
    /// Connects through the pretend proxy and waits for the welcome: the server registers a session
    /// before it queues the welcome, so once this returns the session counts in the registry (the
    /// WebSocket accept alone comes earlier, and a count read then races the registration).
    /// </summary>
    private static int _forwardedUsers;

    private static async Task<ProtocolClient> ConnectForwardedAsync(TestServer server, string forwardedFor)
    {
        var client = await ProtocolClient.ConnectAsync(
            server.Ws("ws?user=forwarded" + Interlocked.Increment(ref _forwardedUsers)),
            o => o.SetRequestHeader("X-Forwarded-For", forwardedFor));
        await client.ExpectAsync("welcome");
        return client;
    }

    private static async Task<UpgradeAnswer> FirstRefusalAsync(TestServer server, SocketsHttpHandler handler, int attempts)
    {
        for (var i = 0; i < attempts; i++)
        {
            var answer = await UpgradeProbe.SendAsync(handler, server.BaseUri, "/ws");
            if (!answer.Upgraded)
            {
                return answer;
            }
        }

        throw new Xunit.Sdk.XunitException($"{attempts} back-to-back upgrades were all accepted");
    }

    /// <summary>Retries an upgrade until the bucket has refilled enough to accept one, or the deadline passes.</summary>
    private static async Task AcceptedWithinAsync(TestServer server, SocketsHttpHandler handler, TimeSpan deadline)
    {
        var waited = Stopwatch.StartNew();
        while (!(await UpgradeProbe.SendAsync(handler, server.BaseUri, "/ws")).Upgraded)
        {
            Assert.True(waited.Elapsed < deadline, $"no upgrade was accepted within {deadline.TotalSeconds} s of a refusal");
        }
    }
}
