using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis;

using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>The broker contract against the Redis broker, on a real redis-server.</summary>
[Trait("Category", "external")]
public sealed class RedisBrokerContractTests : BrokerContractTests
{
    private readonly List<Switchboard.Redis.RedisBroker> _brokers = [];
    private RedisServer _redis = null!;

    public override async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public override async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    protected override async Task<BrokerNode> StartNodeAsync(int historySize = 100, double historyTtlSeconds = 300)
    {
        var handler = new RecordingHandler();
        var broker = await RedisNodes.StartBrokerAsync(_redis, handler, historySize, historyTtlSeconds);
        _brokers.Add(broker);
        return new BrokerNode(broker, handler);
    }

    // Redis keeps real time: the test polls until the TTL has passed.
    protected override void Age(BrokerNode node, TimeSpan age)
    {
    }
}
