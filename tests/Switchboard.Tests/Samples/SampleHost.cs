using ChatWithCookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Samples;

/// <summary>
/// samples/ChatWithCookies started in-process as its Program starts it (<c>ChatApp.Build(args)</c>),
/// on 127.0.0.1 port 0; its page is served from the wwwroot copied beside the tests.
/// </summary>
public sealed class SampleHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleHost(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    public static async Task<SampleHost> StartAsync()
    {
        var app = ChatApp.Build(["--urls=http://127.0.0.1:0", "--environment=Testing", "--Logging:LogLevel:Default=Warning", .. TestServer.HostArgs]);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new SampleHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>The WebSocket URI of <paramref name="path"/> (for example <c>realtime/ws</c>).</summary>
    public Uri Ws(string path) => new(new Uri("ws://" + BaseUri.Authority + "/"), path);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}
