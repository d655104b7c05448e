using System.Globalization;
using Switchboard.Brokers;
using Switchboard.Options;
using Switchboard.Redis;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis;

/// <summary>Nodes on a test Redis: bare brokers for broker-level tests, and settings for whole servers.</summary>
public static class RedisNodes
{
    /// <summary>Presence refresh period in tests: short, so death and lost-message checks take a second, not twenty.</summary>
    public const double PresenceIntervalSeconds = 0.25;

    /// <summary>
    /// Presence timeout in tests (twelve heartbeats): a live node whose heartbeats a busy machine
    /// delays by less than this is never taken for dead, which would send false <c>left</c> events.
    /// </summary>
    public const double PresenceTimeoutSeconds = 3;

    /// <summary>Starts a Redis broker attached to <paramref name="handler"/>, connected to <paramref name="redis"/>.</summary>
    public static Task<RedisBroker> StartBrokerAsync(RedisServer redis, IBrokerHandler handler, int historySize = 100, double historyTtlSeconds = 300,
        double presenceIntervalSeconds = PresenceIntervalSeconds, double presenceTimeoutSeconds = PresenceTimeoutSeconds) =>
        StartBrokerAsync([redis.Configuration], handler, historySize, historyTtlSeconds, presenceIntervalSeconds, presenceTimeoutSeconds);

    /// <summary>Starts a Redis broker on <paramref name="shards"/> (one: the single <c>Configuration</c>), attached to <paramref name="handler"/>.</summary>
    public static async Task<RedisBroker> StartBrokerAsync(IReadOnlyList<string> shards, IBrokerHandler handler, int historySize = 100, double historyTtlSeconds = 300,
        double presenceIntervalSeconds = PresenceIntervalSeconds, double presenceTimeoutSeconds = PresenceTimeoutSeconds)
    {
        var options = new RedisBrokerOptions
        {
            Configuration = shards.Count == 1 ? shards[0] : null,
            PresenceIntervalSeconds = presenceIntervalSeconds,
            PresenceTimeoutSeconds = presenceTimeoutSeconds,
        };
        if (shards.Count > 1)
        {
            foreach (var shard in shards)
            {
                options.Shards.Add(shard);
            }
        }

        var switchboard = new SwitchboardOptions { Broker = "redis", History = { Size = historySize, TtlSeconds = historyTtlSeconds } };
        var broker = new RedisBroker(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Options.Options.Create(switchboard));
        broker.Attach(handler);
        await broker.ConnectAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return broker;
    }

    /// <summary>Starts <paramref name="count"/> server nodes on <paramref name="redis"/> at once; if one fails, stops the others.</summary>
    public static Task<TestServer[]> StartServersAsync(RedisServer redis, int count) => StartServersAsync(Settings(redis), count);

    /// <summary>
    /// Starts <paramref name="count"/> server nodes with <paramref name="settings"/> at once (logging to
    /// <paramref name="logs"/> when given); if one fails, stops the others.
    /// </summary>
    public static async Task<TestServer[]> StartServersAsync(Dictionary<string, string?> settings, int count, Microsoft.Extensions.Logging.ILoggerProvider? logs = null)
    {
        var starting = Enumerable.Range(0, count).Select(_ => TestServer.StartAsync(settings, logs)).ToArray();
        try
        {
            return await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Configuration keys of a server node using <paramref name="redis"/> (for <see cref="TestServer.StartAsync"/>).</summary>
    public static Dictionary<string, string?> Settings(RedisServer redis) => Settings(redis.Configuration);

    /// <summary>Configuration keys of a server node using the Redis at <paramref name="configuration"/>.</summary>
    public static Dictionary<string, string?> Settings(string configuration) => new()
    {
        ["Switchboard:Broker"] = "redis",
        ["Switchboard:Redis:Configuration"] = configuration,
        ["Switchboard:Redis:PresenceIntervalSeconds"] = PresenceIntervalSeconds.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Redis:PresenceTimeoutSeconds"] = PresenceTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Shutdown:DrainSeconds"] = "1",
    };

    /// <summary>The same settings as environment variables, for a node process.</summary>
    public static Dictionary<string, string> Environment(RedisServer redis) =>
        Settings(redis).ToDictionary(p => p.Key.Replace(":", "__", StringComparison.Ordinal), p => p.Value!);
}
