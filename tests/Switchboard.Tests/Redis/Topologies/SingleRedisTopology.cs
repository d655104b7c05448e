using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis.Topologies;

/// <summary>One redis-server (append-only, fsynced on every write): the single <c>Configuration</c>.</summary>
public sealed class SingleRedisTopology : RedisTopology
{
    public override IReadOnlyList<string> Shards => [Servers[0].Configuration];

    protected override async Task StartAsync(List<RedisServer> servers) => servers.Add(await RedisServer.StartAsync(persistent: true));
}
