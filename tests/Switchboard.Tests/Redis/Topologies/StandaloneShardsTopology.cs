using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis.Topologies;

/// <summary>Two standalone redis-servers as two shards (<c>Switchboard:Redis:Shards</c>): rooms and users spread over both.</summary>
public sealed class StandaloneShardsTopology : RedisTopology
{
    public override IReadOnlyList<string> Shards => Servers.Select(s => s.Configuration).ToArray();

    protected override async Task StartAsync(List<RedisServer> servers)
    {
        for (var i = 0; i < 2; i++)
        {
            servers.Add(await RedisServer.StartAsync(persistent: true));
        }
    }
}
