using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>
/// A scripted server-sent events peer on Kestrel, for what a real node does not do on demand: a stream
/// that falls silent, ends without a close message, or POSTs answered with a chosen status. Its
/// <c>/ws</c> refuses the upgrade (404), so clients fall back to it.
/// </summary>
public sealed class FakeEventServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _streams;

    private FakeEventServer(WebApplication app)
    {
        _app = app;
    }

    public Uri WsUri { get; private set; } = null!;

    public int StreamsOpened => Volatile.Read(ref _streams);

    /// <param name="stream">Runs one stream; the response ends when it returns.</param>
    /// <param name="post">The status each POST is answered with, given its body.</param>
    public static async Task<FakeEventServer> StartAsync(Func<FakeEventPeer, Task> stream, Func<string, int> post)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeEventServer(app);
        app.MapGet("/events", async (HttpContext context) =>
        {
            Interlocked.Increment(ref server._streams);
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.FlushAsync();
            await stream(new FakeEventPeer(context.Response, context.RequestAborted));
        });
        app.MapPost("/events/{session}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            context.Response.StatusCode = post(await reader.ReadToEndAsync());
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.WsUri = new Uri($"ws://127.0.0.1:{new Uri(address).Port}/ws");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

/// <summary>The server side of one event stream of a <see cref="FakeEventServer"/>.</summary>
public sealed class FakeEventPeer(HttpResponse response, CancellationToken aborted)
{
    /// <summary>Cancelled when the client ends the stream.</summary>
    public CancellationToken Aborted { get; } = aborted;

    public async Task SendAsync(string json)
    {
        await response.WriteAsync("data: " + json + "\n\n", Aborted);
        await response.Body.FlushAsync(Aborted);
    }

    public Task SendWelcomeAsync(int ping = 25) =>
        SendAsync($$"""{"op":"welcome","session":"fake-session","user":"alice","ping":{{ping}}}""");

    /// <summary>Holds the stream open until the client ends it (or the deadline passes).</summary>
    public async Task HoldAsync()
    {
        try
        {
            // Longer than any test waits, so a client that should have given up on it fails its test.
            await Task.Delay(Wait.Timeout * 2, Aborted);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
