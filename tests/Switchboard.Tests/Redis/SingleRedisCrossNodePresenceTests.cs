using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The cross-node presence suite on one redis-server.</summary>
[Trait("Category", "external")]
public sealed class SingleRedisCrossNodePresenceTests(SingleRedisTopology redis) : CrossNodePresenceTests(redis), IClassFixture<SingleRedisTopology>;
