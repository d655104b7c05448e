using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The cross-node presence suite on two standalone shards.</summary>
[Trait("Category", "external")]
public sealed class ShardedRedisCrossNodePresenceTests(StandaloneShardsTopology redis) : CrossNodePresenceTests(redis), IClassFixture<StandaloneShardsTopology>;
