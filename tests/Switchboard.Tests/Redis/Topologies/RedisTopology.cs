using System.Globalization;
using StackExchange.Redis;
using Switchboard.Redis;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis.Topologies;

/// <summary>
/// A real Redis deployment the broker suites run on, started once per test class (an xUnit class
/// fixture) and stopped when the class is done: one server, standalone shards, or a Redis Cluster.
/// It knows what a node's configuration is, and where a room's keys are, for tests that reach in.
/// </summary>
public abstract class RedisTopology : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>Every redis-server process of the deployment.</summary>
    public IReadOnlyList<RedisServer> Servers { get; private set; } = [];

    /// <summary>The connection string of each shard, in <c>Switchboard:Redis:Shards</c> order.</summary>
    public abstract IReadOnlyList<string> Shards { get; }

    /// <summary>The configuration keys of a server node on this deployment (see <see cref="RedisNodes"/>).</summary>
    public virtual Dictionary<string, string?> Settings()
    {
        var settings = RedisNodes.Settings(Shards[0]);
        if (Shards.Count > 1)
        {
            settings.Remove("Switchboard:Redis:Configuration");
            for (var i = 0; i < Shards.Count; i++)
            {
                settings[$"Switchboard:Redis:Shards:{i.ToString(CultureInfo.InvariantCulture)}"] = Shards[i];
            }
        }

        return settings;
    }

    public async Task InitializeAsync()
    {
        var servers = new List<RedisServer>();
        try
        {
            await StartAsync(servers);
            Servers = servers;
        }
        catch
        {
            // xUnit does not dispose a fixture whose initialization failed: no process may outlive it.
            await StopAsync(servers);
            throw;
        }
    }

    public virtual Task DisposeAsync() => StopAsync(Servers);

    /// <summary>Removes every key (each test of a class starts on an empty deployment).</summary>
    public virtual async Task FlushAsync()
    {
        foreach (var server in Servers)
        {
            Assert.Equal("+OK", await server.CommandAsync("FLUSHALL"));
        }
    }

    /// <summary>Kills every server (SIGKILL), as an outage of the whole deployment.</summary>
    public async Task KillAsync()
    {
        foreach (var server in Servers)
        {
            await server.KillAsync();
        }
    }

    /// <summary>Starts every server again on its port, and waits until the deployment serves.</summary>
    public virtual async Task RestartAsync()
    {
        foreach (var server in Servers)
        {
            await server.RestartAsync();
        }
    }

    /// <summary>
    /// Runs a command on the shard that holds <paramref name="room"/> (through a client that follows a
    /// cluster's slots), for tests that change a room's keys behind the broker's back.
    /// </summary>
    public async Task<RedisResult> ExecuteForRoomAsync(string room, string command, params object[] arguments)
    {
        var shard = Shards[ShardRing.IndexOf(room, Shards.Count)];
        using var redis = await ConnectionMultiplexer.ConnectAsync(shard).WaitAsync(Deadline);
        return await redis.GetDatabase().ExecuteAsync(command, arguments).WaitAsync(Deadline);
    }

    /// <summary>Starts the servers, adding each to <paramref name="servers"/> as soon as it runs.</summary>
    protected abstract Task StartAsync(List<RedisServer> servers);

    /// <summary>Stops <paramref name="servers"/> (each test's own processes besides them are the subclass's to stop).</summary>
    protected static async Task StopAsync(IEnumerable<RedisServer> servers)
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }
}
