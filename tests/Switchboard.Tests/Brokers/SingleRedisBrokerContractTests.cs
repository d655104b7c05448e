using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>The broker contract on one redis-server.</summary>
[Trait("Category", "external")]
public sealed class SingleRedisBrokerContractTests(SingleRedisTopology redis) : RedisBrokerContractTests(redis), IClassFixture<SingleRedisTopology>;
