using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The multi-node suite on two standalone shards.</summary>
[Trait("Category", "external")]
public sealed class ShardedRedisMultiNodeTests(StandaloneShardsTopology redis) : MultiNodeTests(redis), IClassFixture<StandaloneShardsTopology>;
