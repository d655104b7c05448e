using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// An app hosting Switchboard under a prefix, with whatever authentication the test gives it, on a
/// real Kestrel at 127.0.0.1 port 0.
/// </summary>
public sealed class AppHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AppHost(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri BaseUri { get; }

    public HttpClient Http { get; }

    /// <summary>
    /// Starts the app. <paramref name="authentication"/> registers the app's schemes;
    /// <paramref name="map"/> maps Switchboard (default: <c>MapSwitchboard("/realtime")</c> with no policy).
    /// </summary>
    public static async Task<AppHost> StartAsync(
        IDictionary<string, string?> settings,
        Action<IServiceCollection> authentication,
        Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", Args = TestServer.HostArgs });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        authentication(builder.Services);
        builder.Services.AddAuthorization();
        builder.Services.AddSwitchboard();
        var app = builder.Build();
        try
        {
            app.UseAuthentication();
            app.UseAuthorization();
            if (map is null)
            {
                app.MapSwitchboard("/realtime");
            }
            else
            {
                map(app);
            }

            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new AppHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>The WebSocket URI of <paramref name="path"/> (for example <c>realtime/ws</c>).</summary>
    public Uri Ws(string path) => new(new Uri("ws://" + BaseUri.Authority + "/"), path);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}
