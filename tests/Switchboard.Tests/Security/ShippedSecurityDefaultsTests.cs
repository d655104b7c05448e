using System.Net;
using Microsoft.Extensions.Configuration;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// The shipped host is secure unless told otherwise: production settings deny anonymous access,
/// the HTTP API and foreign origins, and keep request logs (which would carry <c>?token=</c>) quiet;
/// the development settings turn the conveniences on, and the host says so at start-up.
/// </summary>
[Trait("Category", "integration")]
public sealed class ShippedSecurityDefaultsTests
{
    [Fact]
    public void ShippedSettingsKeepEverySecurityDefault()
    {
        var shipped = Bind("appsettings.json");
        var defaults = new SwitchboardOptions();

        Assert.False(shipped.Auth.AllowAnonymous);
        Assert.False(shipped.Auth.AllowQueryUser);
        Assert.False(shipped.Api.AllowWithoutKey);
        Assert.False(shipped.AllowLocalhostOrigins);
        Assert.Empty(shipped.AllowedOrigins);
        Assert.Empty(shipped.TrustedProxies);
        Assert.Empty(shipped.Api.Keys);
        Assert.False(shipped.Rooms.AllowAll);
        Assert.False(defaults.Rooms.AllowAll);
        Assert.False(shipped.History.KeepUnjoinedRooms);
        Assert.Equal(defaults.History.MaxBytesPerRoom, shipped.History.MaxBytesPerRoom);
        Assert.Equal(defaults.History.MaxBytesPerUser, shipped.History.MaxBytesPerUser);
        Assert.Equal(defaults.History.MaxBytesPerNode, shipped.History.MaxBytesPerNode);
        Assert.Equal(defaults.Auth.AllowAnonymous, shipped.Auth.AllowAnonymous);
        Assert.Equal(defaults.Auth.FirstMessageTimeoutSeconds, shipped.Auth.FirstMessageTimeoutSeconds);
        Assert.Equal(defaults.Auth.Jwt.ClockSkewSeconds, shipped.Auth.Jwt.ClockSkewSeconds);
        Assert.Equal(defaults.Auth.Jwt.RoomsClaim, shipped.Auth.Jwt.RoomsClaim);
        Assert.Equal(defaults.Rooms.PersonalPrefix, shipped.Rooms.PersonalPrefix);
        Assert.Equal(defaults.Limits.PublishesPerSecond, shipped.Limits.PublishesPerSecond);
        Assert.Equal(defaults.Limits.PublishBurst, shipped.Limits.PublishBurst);
        Assert.Equal(defaults.Limits.CommandsPerSecond, shipped.Limits.CommandsPerSecond);
        Assert.Equal(defaults.Limits.CommandBurst, shipped.Limits.CommandBurst);
        Assert.Equal(defaults.Limits.RateLimitStrikes, shipped.Limits.RateLimitStrikes);
        Assert.Equal(defaults.Limits.MaxConnectionsPerUser, shipped.Limits.MaxConnectionsPerUser);
        Assert.Equal(defaults.Limits.MaxConnectionsPerIp, shipped.Limits.MaxConnectionsPerIp);
        Assert.Equal(defaults.Limits.MaxPlainRoomMembers, shipped.Limits.MaxPlainRoomMembers);
        Assert.Equal(defaults.Limits.AcceptsPerSecond, shipped.Limits.AcceptsPerSecond);
        Assert.Equal(defaults.Limits.AcceptsPerSecondPerIp, shipped.Limits.AcceptsPerSecondPerIp);
        Assert.Equal(defaults.Limits.AcceptBurstPerIp, shipped.Limits.AcceptBurstPerIp);
        Assert.Equal(defaults.Limits.JoinsPerSecond, shipped.Limits.JoinsPerSecond);
        Assert.Equal(defaults.Limits.JoinBurst, shipped.Limits.JoinBurst);
        Assert.Equal(defaults.Limits.PresenceEventsPerSecond, shipped.Limits.PresenceEventsPerSecond);
        Assert.Equal(defaults.Limits.PresenceEventBurst, shipped.Limits.PresenceEventBurst);
        Assert.Equal(defaults.Limits.ReadsPerSecond, shipped.Limits.ReadsPerSecond);
        Assert.Equal(defaults.Limits.ReadBurst, shipped.Limits.ReadBurst);
        Assert.Equal(defaults.Limits.ReplyBytesPerSecond, shipped.Limits.ReplyBytesPerSecond);
        Assert.Equal(defaults.Limits.ReplyBurstBytes, shipped.Limits.ReplyBurstBytes);
        Assert.Equal(defaults.Limits.MaxReplyBytes, shipped.Limits.MaxReplyBytes);
        Assert.Equal(defaults.Limits.UserPublishesPerSecond, shipped.Limits.UserPublishesPerSecond);
        Assert.Equal(defaults.Limits.UserPublishBurst, shipped.Limits.UserPublishBurst);
        Assert.Equal(defaults.Limits.MaxAnonymousConnectionsPerIp, shipped.Limits.MaxAnonymousConnectionsPerIp);
        Assert.Equal(defaults.Limits.HandshakeTimeoutSeconds, shipped.Limits.HandshakeTimeoutSeconds);
    }

    [Fact]
    public void ShippedLoggingKeepsAspNetCoreRequestLogsAndTheirQueryStringsOut()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Build();

        // Request logs at Information carry the full URL, ?token= included.
        Assert.Equal("Warning", configuration["Logging:LogLevel:Microsoft.AspNetCore"]);
    }

    [Fact]
    public void DevelopmentSettingsTurnOnTheInsecureConveniences()
    {
        var development = Bind("appsettings.json", "appsettings.Development.json");

        Assert.True(development.Auth.AllowAnonymous);
        Assert.True(development.Auth.AllowQueryUser);
        Assert.True(development.Api.AllowWithoutKey);
        Assert.True(development.AllowLocalhostOrigins);
        Assert.True(development.Rooms.AllowAll);
    }

    [Fact]
    public async Task TheProductionHostRefusesAnonymousConnectionsTheApiAndForeignOriginsAndSaysWhy()
    {
        await using var server = ServerProcess.Start(Production());
        var address = await server.WaitForListeningAsync();
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };

        await using var anonymous = await ProtocolClient.ConnectAsync(WsUri(address));
        Assert.Contains("anonymous access is disabled", await anonymous.AssertClosedWithAsync(CloseCodes.Unauthorized), StringComparison.Ordinal);
        using var api = await http.GetAsync(new Uri("api/rooms", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        var localhost = await UpgradeProbe.SendAsync(address, "/ws", new Dictionary<string, string> { ["Origin"] = "http://localhost:5173" });
        Assert.Equal(HttpStatusCode.Forbidden, localhost.Status);
        await Eventually.TrueAsync(() => server.Output.Contains("No identity source is configured", StringComparison.Ordinal), "the host warned that every connection will be refused");
        Assert.DoesNotContain("INSECURE", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheProductionHostNeverLogsAQueryToken()
    {
        using var tokens = TokenFactory.Hs256();
        var environment = Production();
        environment["Switchboard__Auth__Jwt__Secret"] = tokens.Secret!;
        await using var server = ServerProcess.Start(environment);
        var address = await server.WaitForListeningAsync();
        var good = tokens.Create("alice");
        var bad = TokenFactory.Tampered(tokens.Create("bob"), "admin");

        await using (var accepted = await ProtocolClient.ConnectAsync(WsUri(address, "?token=" + good)))
        {
            Assert.Equal("alice", (await accepted.ExpectAsync("welcome")).GetProperty("user").GetString());
            await accepted.CloseAsync();
        }

        await using (var refused = await ProtocolClient.ConnectAsync(WsUri(address, "?token=" + bad)))
        {
            await refused.AssertClosedWithAsync(CloseCodes.Unauthorized);
        }

        // Once the process has exited, everything it ever logged has been read.
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(good.Split('.')[2], server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(bad.Split('.')[1], server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDevelopmentHostAcceptsAnonymousAndLocalhostConnectionsAndWarnsAtStartUp()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
        });
        var address = await server.WaitForListeningAsync();

        await using var anonymous = await ProtocolClient.ConnectAsync(WsUri(address), o => o.SetRequestHeader("Origin", "http://localhost:5173"));
        var welcome = await anonymous.ExpectAsync("welcome");

        Assert.StartsWith("anon-", welcome.GetProperty("user").GetString(), StringComparison.Ordinal);
        var foreign = await UpgradeProbe.SendAsync(address, "/ws", new Dictionary<string, string> { ["Origin"] = "https://evil.example.com" });
        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        await Eventually.TrueAsync(
            () => server.Output.Contains("Switchboard:Auth:AllowQueryUser is on", StringComparison.Ordinal)
                && server.Output.Contains("Switchboard:Auth:AllowAnonymous is on", StringComparison.Ordinal)
                && server.Output.Contains("Switchboard:Api:AllowWithoutKey is on", StringComparison.Ordinal),
            "the host warned about each insecure option");
    }

    [Fact]
    public async Task TheProductionHostWithoutRoomRulesOpensOnlyPersonalAndGrantedRooms()
    {
        using var tokens = TokenFactory.Hs256();
        var environment = Production();
        environment["Switchboard__Auth__Jwt__Secret"] = tokens.Secret!;
        await using var server = ServerProcess.Start(environment);
        var address = await server.WaitForListeningAsync();

        await using var alice = await ProtocolClient.ConnectAsync(WsUri(address, "?token=" + tokens.Create(TokenClaims.For("alice").Granting("team:1"))));
        await alice.ExpectAsync("welcome");

        Assert.Equal("forbidden", (await alice.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("code").GetString());
        Assert.Equal("forbidden", (await alice.RequestAsync("""{"op":"presence","room":"lobby"}""")).GetProperty("code").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"user:alice"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"team:1"}""")).GetProperty("op").GetString());
        Assert.Equal("forbidden", (await alice.RequestAsync("""{"op":"history","room":"team:1"}""")).GetProperty("code").GetString());
        await Eventually.TrueAsync(() => server.Output.Contains("No Switchboard:Rooms:Rules are configured", StringComparison.Ordinal), "the host said which rooms are open");
    }

    [Fact]
    public async Task TheDevelopmentHostOpensEveryRoomForTheDemoAndWarnsAboutIt()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
        });
        var address = await server.WaitForListeningAsync();

        // As the demo chat at / does: ?user= and any room name.
        await using var alice = await ProtocolClient.ConnectAsync(WsUri(address, "?user=alice"));
        await alice.ExpectAsync("welcome");

        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"any-room-at-all"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"presence","room":"any-room-at-all"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"history","room":"any-room-at-all"}""")).GetProperty("op").GetString());
        await Eventually.TrueAsync(() => server.Output.Contains("Switchboard:Rooms:AllowAll is on", StringComparison.Ordinal), "the host warned that every room is open");
    }

    [Fact]
    public async Task TheHostRefusesToStartWithAShortJwtSecretAndNamesTheKey()
    {
        var environment = Production();
        environment["Switchboard__Auth__Jwt__Secret"] = "too-short";
        await using var server = ServerProcess.Start(environment);

        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Switchboard:Auth:Jwt:Secret must be at least 32 bytes", server.Output, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Production() => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["DOTNET_ENVIRONMENT"] = "Production",
    };

    private static Uri WsUri(Uri address, string query = "") => new("ws://" + address.Authority + "/ws" + query);

    private static SwitchboardOptions Bind(params string[] files)
    {
        var builder = new ConfigurationBuilder();
        foreach (var file in files)
        {
            builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, file));
        }

        var options = new SwitchboardOptions();
        builder.Build().GetSection(SwitchboardOptions.SectionName).Bind(options);
        return options;
    }
}
