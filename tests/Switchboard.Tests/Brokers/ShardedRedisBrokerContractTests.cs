using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>The broker contract on two standalone shards.</summary>
[Trait("Category", "external")]
public sealed class ShardedRedisBrokerContractTests(StandaloneShardsTopology redis) : RedisBrokerContractTests(redis), IClassFixture<StandaloneShardsTopology>;
