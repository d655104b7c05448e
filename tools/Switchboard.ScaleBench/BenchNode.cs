using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.ScaleBench;

/// <summary>One Switchboard node in this process on 127.0.0.1, port chosen by the OS.</summary>
internal sealed class BenchNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchNode(WebApplication app, Uri ws)
    {
        _app = app;
        Ws = ws;
    }

    /// <summary>
    /// The bench's settings, beside the broker: the insecure <c>?user=</c> identity, every room open,
    /// and limits out of the way (a bench measures the node, not its rate limits).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Switchboard:Auth:AllowQueryUser"] = "true",
        ["Switchboard:Rooms:AllowAll"] = "true",
        ["Switchboard:Limits:PublishesPerSecond"] = "1000000",
        ["Switchboard:Limits:PublishBurst"] = "1000000",
        ["Switchboard:Limits:CommandsPerSecond"] = "1000000",
        ["Switchboard:Limits:CommandBurst"] = "1000000",
        ["Switchboard:Limits:AcceptsPerSecondPerIp"] = "1000000",
        ["Switchboard:Limits:AcceptBurstPerIp"] = "1000000",
        ["Switchboard:Limits:JoinsPerSecond"] = "1000000",
        ["Switchboard:Limits:JoinBurst"] = "1000000",
        ["Switchboard:Limits:UserPublishesPerSecond"] = "1000000",
        ["Switchboard:Limits:UserPublishBurst"] = "1000000",
        ["Switchboard:Limits:PresenceEventsPerSecond"] = "1000000",
        ["Switchboard:Limits:PresenceEventBurst"] = "1000000",
        ["Switchboard:Limits:MaxConnectionsPerIp"] = "100000",
        ["Switchboard:Shutdown:DrainSeconds"] = "1",
    };

    /// <summary>ws://127.0.0.1:PORT/ws</summary>
    public Uri Ws { get; }

    public static async Task<BenchNode> StartAsync(string? redis)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(Settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
        {
            ["Switchboard:Broker"] = redis is null ? "memory" : "redis",
            ["Switchboard:Redis:Configuration"] = redis,
        });
        builder.Services.AddSwitchboard().AddSwitchboardRedis().AddSwitchboardKestrelLimits();
        var app = builder.Build();
        app.MapSwitchboard();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new BenchNode(app, new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + "/ws"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
