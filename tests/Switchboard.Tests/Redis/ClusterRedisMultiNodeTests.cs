using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The multi-node suite on a three-master Redis Cluster.</summary>
[Trait("Category", "external")]
public sealed class ClusterRedisMultiNodeTests(ClusterTopology redis) : MultiNodeTests(redis), IClassFixture<ClusterTopology>;
