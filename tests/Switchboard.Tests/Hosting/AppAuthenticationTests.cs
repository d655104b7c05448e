using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Security;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// The connection's identity from the hosting app's own authentication (<c>Switchboard:Auth:App</c>):
/// the signed-in user comes first, its user claim is the user id, its rooms claim grants rooms as a
/// token's does, and a signed-in user Switchboard cannot read is refused rather than let in anonymously.
/// </summary>
[Trait("Category", "integration")]
public sealed class AppAuthenticationTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            // Both development fallbacks on, so that a test can tell the app's user from them.
            ["Switchboard:Auth:AllowQueryUser"] = "true",
            ["Switchboard:Auth:AllowAnonymous"] = "true",
            ["Switchboard:Rooms:Rules:0:Pattern"] = "team:*",
            ["Switchboard:Rooms:Rules:0:Join"] = "granted",
            // Other rooms open, as in development, so a test can use one without a grant.
            ["Switchboard:Rooms:AllowAll"] = "true",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static void ClaimsScheme(IServiceCollection services) =>
        services.AddAuthentication(ClaimsHeaderAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ClaimsHeaderAuthentication>(ClaimsHeaderAuthentication.SchemeName, null);

    private static Task<ProtocolClient> ConnectAsync(AppHost app, string path, string? claims) =>
        ProtocolClient.ConnectAsync(app.Ws(path), o =>
        {
            if (claims is not null)
            {
                o.SetRequestHeader(ClaimsHeaderAuthentication.Header, claims);
            }
        });

    [Fact]
    public async Task TheAppsSignedInUserIsTheConnectionsUserBeforeAnyQueryUser()
    {
        await using var app = await AppHost.StartAsync(Settings(), ClaimsScheme);
        await using var client = await ConnectAsync(app, "realtime/ws?user=mallory", "id=alice");

        var welcome = await client.ExpectAsync("welcome");

        Assert.Equal("alice", welcome.GetProperty("user").GetString());
    }

    [Fact]
    public async Task SubIsTheUserIdWhenThereIsNoNameIdentifier()
    {
        await using var app = await AppHost.StartAsync(Settings(), ClaimsScheme);
        await using var client = await ConnectAsync(app, "realtime/ws", "sub=bob");

        Assert.Equal("bob", (await client.ExpectAsync("welcome")).GetProperty("user").GetString());
    }

    [Fact]
    public async Task AConfiguredUserClaimIsTheOnlyOneRead()
    {
        await using var app = await AppHost.StartAsync(Settings(("Switchboard:Auth:App:UserClaim", "email")), ClaimsScheme);
        await using (var withEmail = await ConnectAsync(app, "realtime/ws", "id=alice;email=alice@example.com"))
        {
            Assert.Equal("alice@example.com", (await withEmail.ExpectAsync("welcome")).GetProperty("user").GetString());
        }

        await using var withoutEmail = await ConnectAsync(app, "realtime/ws", "id=alice");
        Assert.Contains("no email claim", await withoutEmail.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRoomsClaimGrantsRoomsAsATokensDoes()
    {
        await using var app = await AppHost.StartAsync(Settings(), ClaimsScheme);
        // One claim per room, and one claim listing several, space-separated: both as in a token.
        await using var client = await ConnectAsync(app, "realtime/ws", "id=alice;rooms=team:1;rooms=team:2 team:3");
        await client.ExpectAsync("welcome");

        foreach (var granted in new[] { "team:1", "team:2", "team:3" })
        {
            Assert.Equal("reply", (await client.RequestAsync($$"""{"op":"join","room":"{{granted}}"}""")).GetProperty("op").GetString());
        }

        var refused = await client.RequestAsync("""{"op":"join","room":"team:4"}""");
        Assert.Equal(ErrorCodes.Forbidden, refused.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("name=alice", "no NameIdentifier or sub claim")]
    [InlineData("id=al ice", "id must be 1-128 characters")]
    public async Task ASignedInUserWithoutAUsableIdIsRefusedNotLetInAnonymously(string claims, string reason)
    {
        await using var app = await AppHost.StartAsync(Settings(), ClaimsScheme);
        await using var client = await ConnectAsync(app, "realtime/ws?user=mallory", claims);

        Assert.Contains(reason, await client.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefreshIsRefusedForAnIdentityFromTheAppAndTheConnectionCarriesOn()
    {
        using var tokens = TokenFactory.Hs256();
        await using var app = await AppHost.StartAsync(Settings(("Switchboard:Auth:Jwt:Secret", tokens.Secret)), ClaimsScheme);
        await using var client = await ConnectAsync(app, "realtime/ws", "id=alice");
        await client.ExpectAsync("welcome");

        var refused = await client.RequestAsync($$"""{"op":"refresh","token":"{{tokens.Create("alice")}}"}""");

        Assert.Equal(ErrorCodes.BadRequest, refused.GetProperty("code").GetString());
        Assert.Contains("reconnect", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        // auth is no way around it either, and says so rather than pointing at refresh.
        var auth = await client.RequestAsync($$"""{"op":"auth","token":"{{tokens.Create("alice")}}"}""");
        Assert.Equal(ErrorCodes.BadRequest, auth.GetProperty("code").GetString());
        Assert.Contains("reconnect", auth.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task WithAppAuthenticationOffTheSignedInUserIsIgnored()
    {
        await using var app = await AppHost.StartAsync(Settings(("Switchboard:Auth:App:Enabled", "false")), ClaimsScheme);
        await using var client = await ConnectAsync(app, "realtime/ws", "id=alice");

        var welcome = await client.ExpectAsync("welcome");

        Assert.StartsWith("anon-", welcome.GetProperty("user").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AConfiguredSchemeIdentifiesConnectionsWhereNoMiddlewareOrPolicyDid(bool schemeConfigured)
    {
        // No default scheme (with two registered, neither becomes one): the authentication middleware
        // signs nobody in, and no policy runs.
        var settings = schemeConfigured ? Settings(("Switchboard:Auth:App:Scheme", ClaimsHeaderAuthentication.SchemeName)) : Settings();
        await using var app = await AppHost.StartAsync(settings, services => services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ClaimsHeaderAuthentication>(ClaimsHeaderAuthentication.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, ClaimsHeaderAuthentication>("Another", null));
        await using var client = await ConnectAsync(app, "realtime/ws", "id=alice");

        var user = (await client.ExpectAsync("welcome")).GetProperty("user").GetString();

        if (schemeConfigured)
        {
            Assert.Equal("alice", user);
        }
        else
        {
            Assert.StartsWith("anon-", user, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASchemeTheAppDidNotRegisterStopsTheStart()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            AppHost.StartAsync(Settings(("Switchboard:Auth:App:Scheme", "Nope")), ClaimsScheme));

        Assert.Contains(failure.Failures, f => f.Contains("Switchboard:Auth:App:Scheme", StringComparison.Ordinal) && f.Contains("Nope", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheAppsJwtBearerSchemeIdentifiesConnectionsBySubWithItsRooms()
    {
        // The app's own tokens, validated by the app's JwtBearer handler; Switchboard has no JWT key.
        using var tokens = TokenFactory.Hs256();
        await using var app = await AppHost.StartAsync(
            Settings(("Switchboard:Auth:AllowAnonymous", "false"), ("Switchboard:Auth:AllowQueryUser", "false")),
            services => services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(tokens.Secret!)),
                    ValidateIssuer = false,
                    ValidateAudience = false,
                };
            }),
            web => web.MapSwitchboard("/realtime").RequireAuthorization());

        using (var refused = new ClientWebSocket())
        {
            refused.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(app.Ws("realtime/ws"), CancellationToken.None).WaitAsync(ProtocolClient.DefaultTimeout));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);
        }

        var token = tokens.Create(TokenClaims.For("carol").Granting("team:7"));
        await using var client = await ProtocolClient.ConnectAsync(app.Ws("realtime/ws"), o => o.SetRequestHeader("Authorization", "Bearer " + token));
        var welcome = await client.ExpectAsync("welcome");
        Assert.Equal("carol", welcome.GetProperty("user").GetString());
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"team:7"}""")).GetProperty("op").GetString());
        Assert.Equal(ErrorCodes.Forbidden, (await client.RequestAsync("""{"op":"join","room":"team:8"}""")).GetProperty("code").GetString());
    }
}
