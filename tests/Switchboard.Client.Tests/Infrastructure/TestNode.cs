using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Connections;

namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>
/// A real Switchboard node (memory broker) on Kestrel at 127.0.0.1, on a free port or a given one so a
/// test can restart "the same" node. Development-like identity unless a test overrides it.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _stopped;

    private TestNode(WebApplication app, int port)
    {
        _app = app;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int Port { get; }

    /// <summary>ws://127.0.0.1:PORT/ws</summary>
    public Uri WsUri => new($"ws://127.0.0.1:{Port}/ws");

    /// <summary>A client for the HTTP API (allowed without a key here).</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public ConnectionRegistry Registry => _app.Services.GetRequiredService<ConnectionRegistry>();

    public static async Task<TestNode> StartAsync(IDictionary<string, string?>? settings = null, int port = 0)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var config = new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowQueryUser"] = "true",
            ["Switchboard:Auth:AllowAnonymous"] = "true",
            ["Switchboard:Api:AllowWithoutKey"] = "true",
            ["Switchboard:Limits:PublishesPerSecond"] = "1000000",
            ["Switchboard:Limits:PublishBurst"] = "1000000",
            ["Switchboard:Limits:CommandsPerSecond"] = "1000000",
            ["Switchboard:Limits:CommandBurst"] = "1000000",
            ["Switchboard:Limits:AcceptsPerSecondPerIp"] = "1000000",
            ["Switchboard:Limits:AcceptBurstPerIp"] = "1000000",
            ["Switchboard:Limits:JoinsPerSecond"] = "1000000",
            ["Switchboard:Limits:JoinBurst"] = "1000000",
            ["Switchboard:Limits:ReadsPerSecond"] = "1000000",
            ["Switchboard:Limits:ReadBurst"] = "1000000",
            ["Switchboard:Limits:ReplyBytesPerSecond"] = "1000000000",
            ["Switchboard:Limits:ReplyBurstBytes"] = "1000000000",
            ["Switchboard:Limits:UserPublishesPerSecond"] = "1000000",
            ["Switchboard:Limits:UserPublishBurst"] = "1000000",
            ["Switchboard:Limits:PresenceEventsPerSecond"] = "1000000",
            ["Switchboard:Limits:PresenceEventBurst"] = "1000000",
            ["Switchboard:Shutdown:DrainSeconds"] = "2",
            // As in development: rooms no rule covers are open, and rooms keep history before anyone joins.
            ["Switchboard:Rooms:AllowAll"] = "true",
            ["Switchboard:History:KeepUnjoinedRooms"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddSwitchboard().AddSwitchboardKestrelLimits();
        var app = builder.Build();
        app.MapSwitchboard();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new TestNode(app, new Uri(address).Port);
    }

    /// <summary>Aborts, without a close frame, every server-side connection of <paramref name="user"/>: the client sees 1006.</summary>
    public int Cut(string user)
    {
        var cut = 0;
        foreach (var connection in Registry.Snapshot())
        {
            if (connection.User == user)
            {
                connection.Abort();
                cut++;
            }
        }

        return cut;
    }

    /// <summary>Stops the node gracefully: connections are drained with 1001.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
    }
}
