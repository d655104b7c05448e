using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>The broker contract on a three-master Redis Cluster.</summary>
[Trait("Category", "external")]
public sealed class ClusterRedisBrokerContractTests(ClusterTopology redis) : RedisBrokerContractTests(redis), IClassFixture<ClusterTopology>;
