using System.Net;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// Switchboard as a library in an app with its own <c>/</c> and its own authentication: mounted under
/// a prefix, and the app's conventions (here <c>RequireAuthorization</c>) apply to its endpoints while
/// the probes stay open.
/// </summary>
[Trait("Category", "integration")]
public sealed class HostedAppTests : IAsyncLifetime, IDisposable
{
    private WebApplication _app = null!;
    private Uri _base = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", Args = TestServer.HostArgs });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowQueryUser"] = "true",
            ["Switchboard:Auth:AllowAnonymous"] = "true",
            ["Switchboard:Api:AllowWithoutKey"] = "true",
        });
        builder.Services.AddAuthentication(HeaderAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddSwitchboard();
        builder.AddSwitchboardTelemetry();
        _app = builder.Build();
        _app.UseAuthentication();
        _app.UseAuthorization();
        _app.MapGet("/", () => "the app's own page");
        _app.MapSwitchboard("/realtime").RequireAuthorization();
        await _app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _base = new Uri(address.TrimEnd('/') + "/");
        _http = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(10) };
    }

    public void Dispose() => _http.Dispose();

    public async Task DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task TheAppKeepsItsOwnRootAndSwitchboardLivesUnderItsPrefix()
    {
        Assert.Equal("the app's own page", await _http.GetStringAsync("/"));
        using var unprefixed = await _http.GetAsync("/api/rooms");
        Assert.Equal(HttpStatusCode.NotFound, unprefixed.StatusCode);
    }

    [Fact]
    public async Task TheAppsAuthorizationPolicyGuardsTheHttpApiAndTheWebSocket()
    {
        using (var anonymous = await _http.GetAsync("/realtime/api/rooms"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/realtime/api/rooms"))
        {
            request.Headers.Add(HeaderAuthentication.Header, "alice");
            using var signedIn = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        }

        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(Ws("realtime/ws?user=alice"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);

        await using var client = await ProtocolClient.ConnectAsync(Ws("realtime/ws?user=alice"), o => o.SetRequestHeader(HeaderAuthentication.Header, "alice"));
        Assert.Equal("alice", (await client.ExpectAsync("welcome")).GetProperty("user").GetString());
    }

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    [InlineData("metrics")]
    public async Task TheProbesStayOpenOutsideTheAppsPolicy(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private Uri Ws(string path) => new(new Uri("ws://" + _base.Authority + "/"), path);

    /// <summary>The app's own authentication in miniature: whoever sends the header is that user.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "TestHeader";
        public const string Header = "X-Test-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var user) || string.IsNullOrEmpty(user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim("sub", user.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
