using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// <c>TrustedProxies</c> switches on the framework's forwarded-headers middleware at the start of the
/// pipeline: the app's own endpoints see the client's address as Switchboard's per-IP limit does, and
/// without the setting the app's pipeline is left as it was.
/// </summary>
[Trait("Category", "integration")]
public sealed class ForwardedHeadersTests
{
    [Fact]
    public async Task BehindATrustedProxyTheAppsOwnEndpointsSeeTheClientsAddress()
    {
        await using var app = await StartAppAsync(new() { ["Switchboard:TrustedProxies:0"] = "127.0.0.1" });

        Assert.Equal("203.0.113.5", await RemoteIpSeenAsync(app, "198.51.100.1, 203.0.113.5"));
    }

    [Fact]
    public async Task ATrustedNetworkInCidrNotationIsBelievedThroughEveryHopItCovers()
    {
        await using var app = await StartAppAsync(new() { ["Switchboard:TrustedProxies:0"] = "127.0.0.0/8", ["Switchboard:TrustedProxies:1"] = "10.0.0.0/8" });

        // 10.1.2.3 is an inner proxy of the trusted network; the client made up 198.51.100.1.
        Assert.Equal("203.0.113.5", await RemoteIpSeenAsync(app, "198.51.100.1, 203.0.113.5, 10.1.2.3"));
    }

    [Fact]
    public async Task WithoutTrustedProxiesTheHeaderIsIgnoredAndLoopbackIsNotTrustedByDefault()
    {
        // The framework's own default trusts loopback; Switchboard adds nothing unless told which proxies to trust.
        await using var app = await StartAppAsync([]);

        Assert.Equal("127.0.0.1", await RemoteIpSeenAsync(app, "203.0.113.5"));
    }

    private static async Task<string> RemoteIpSeenAsync(WebApplication app, string forwardedFor)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<WebApplication> StartAppAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSwitchboard();
        var app = builder.Build();
        app.MapGet("/whoami", (HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "");
        app.MapSwitchboard("/realtime");
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return app;
    }
}
