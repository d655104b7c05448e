using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis;

/// <summary>A redis-server (append-only, fsynced on every write) and N Switchboard nodes sharing it.</summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private RedisCluster(RedisServer redis, TestServer[] nodes)
    {
        Redis = redis;
        Nodes = nodes;
    }

    public RedisServer Redis { get; }

    public TestServer[] Nodes { get; }

    public static async Task<RedisCluster> StartAsync(int nodes)
    {
        var redis = await RedisServer.StartAsync(persistent: true);
        try
        {
            return new RedisCluster(redis, await RedisNodes.StartServersAsync(redis, nodes));
        }
        catch
        {
            // xUnit does not dispose a test whose initialization failed: nothing may outlive it.
            await redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}
