using Switchboard.Tests.Redis;
using Switchboard.Tests.Redis.Topologies;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// The broker contract against the Redis broker, on a real Redis deployment: one server
/// (<see cref="SingleRedisBrokerContractTests"/>), two standalone shards
/// (<see cref="ShardedRedisBrokerContractTests"/>) and a three-master Redis Cluster
/// (<see cref="ClusterRedisBrokerContractTests"/>). Each test uses its own rooms, so the deployment
/// is shared by the tests of a class.
/// </summary>
public abstract class RedisBrokerContractTests(RedisTopology redis) : BrokerContractTests
{
    private readonly List<Switchboard.Redis.RedisBroker> _brokers = [];

    public override async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    protected override async Task<BrokerNode> StartNodeAsync(int historySize = 100, double historyTtlSeconds = 300)
    {
        var handler = new RecordingHandler();
        var broker = await RedisNodes.StartBrokerAsync(redis.Shards, handler, historySize, historyTtlSeconds);
        _brokers.Add(broker);
        return new BrokerNode(broker, handler);
    }

    // Redis keeps real time: the test polls until the TTL has passed.
    protected override void Age(BrokerNode node, TimeSpan age)
    {
    }
}
