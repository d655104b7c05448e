using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Connections;
using Switchboard.Hub;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real Switchboard node on Kestrel, bound to 127.0.0.1 on a free port, configured like the
/// shipped host but with test-friendly overrides. Several can run in one test process.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
        Http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = PooledConnectionIdleTimeout })
        {
            BaseAddress = baseUri,
            Timeout = ApiTimeout,
        };
    }

    /// <summary>
    /// How long <see cref="Http"/> waits for an answer. The server bounds each API call by its broker's
    /// deadlines (a publish through Redis that meets a failover: the script, the hand-over to the room's
    /// worker and the wait for its delivery, 2 s each by default, plus the gap wait), about 7 s; a
    /// deadline of 10 s was overrun in the Sentinel failover tests on a machine at load average 25.
    /// </summary>
    private static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long <see cref="Http"/> keeps an idle connection: below the server's keep-alive timeout
    /// (<c>Limits:HandshakeTimeoutSeconds</c>, 10 s), as docs/configuration.md asks of API clients. With
    /// HttpClient's default (a minute) a POST sent on a connection the server is closing that instant
    /// fails with "the response ended prematurely", and HttpClient does not retry a POST. Seen in the
    /// Sentinel failover tests, where one node's publication hangs through the failover while the
    /// publisher's connection to the other node idles past 10 s.
    /// </summary>
    private static readonly TimeSpan PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Host settings for every in-process app of the tests: no watching of the settings files. Each
    /// watcher holds an inotify instance, of which a user has 128 on the whole machine, and parallel
    /// test classes (and other test runs) starting apps at once would exhaust them.
    /// </summary>
    public static readonly string[] HostArgs = ["--hostBuilder:reloadConfigOnChange=false"];

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; }

    /// <summary>A client for the HTTP API.</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public ConnectionRegistry Registry => Services.GetRequiredService<ConnectionRegistry>();

    public SwitchboardHub Hub => Services.GetRequiredService<SwitchboardHub>();

    /// <summary>
    /// Starts a node. <paramref name="settings"/> are configuration keys such as <c>Switchboard:Limits:MaxMessageBytes</c>;
    /// with <paramref name="pages"/> it also serves the demo and the dashboard, as the shipped host does.
    /// </summary>
    /// <remarks><paramref name="services"/> changes Switchboard's services after they are added (for example replaces the broker with the test's).</remarks>
    public static async Task<TestServer> StartAsync(IDictionary<string, string?>? settings = null, ILoggerProvider? logs = null, bool pages = false, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", Args = TestServer.HostArgs });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        }

        var config = new Dictionary<string, string?>
        {
            // Development-like identity and API access, and limits high enough that no test is
            // rate-limited by accident; security tests override these explicitly.
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
            ["Switchboard:Shutdown:DrainSeconds"] = "3",
            // Rooms no rule covers are open, as in development: most tests use rooms freely. The
            // production default (closed) is tested in Security/DenyByDefaultTests.
            ["Switchboard:Rooms:AllowAll"] = "true",
            // Many tests publish through the API before anyone joins and then read the history; the
            // default (nothing kept for rooms nobody joined) is tested in Hostile/HistoryBudgetTests.
            ["Switchboard:History:KeepUnjoinedRooms"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        // As the shipped host: Switchboard:Broker selects the in-memory broker or Redis.
        builder.Services.AddSwitchboard().AddSwitchboardRedis().AddSwitchboardKestrelLimits();
        services?.Invoke(builder.Services);
        builder.AddSwitchboardTelemetry();
        if (pages)
        {
            builder.Services.AddSwitchboardDashboard();
        }

        var app = builder.Build();
        app.MapSwitchboard();
        if (pages)
        {
            app.MapSwitchboardDemo();
            app.MapSwitchboardDashboard();
        }

        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new TestServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>The WebSocket URI of <paramref name="path"/> (for example <c>ws?user=alice</c>).</summary>
    public Uri Ws(string path) => new(new Uri("ws://" + BaseUri.Authority + "/"), path);

    /// <summary>Connects a protocol client to <c>/ws</c> as <paramref name="user"/> and reads its welcome.</summary>
    public async Task<ProtocolClient> ConnectAsync(string user = "alice")
    {
        var client = await ProtocolClient.ConnectAsync(Ws("ws?user=" + Uri.EscapeDataString(user)));
        await client.ExpectAsync("welcome");
        return client;
    }

    /// <summary>Stops the node gracefully (as on SIGTERM).</summary>
    public Task StopAsync() => _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}
