using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The multi-node suite on one redis-server.</summary>
[Trait("Category", "external")]
public sealed class SingleRedisMultiNodeTests(SingleRedisTopology redis) : MultiNodeTests(redis), IClassFixture<SingleRedisTopology>;
