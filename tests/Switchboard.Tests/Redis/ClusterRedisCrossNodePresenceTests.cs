using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The cross-node presence suite on a three-master Redis Cluster.</summary>
[Trait("Category", "external")]
public sealed class ClusterRedisCrossNodePresenceTests(ClusterTopology redis) : CrossNodePresenceTests(redis), IClassFixture<ClusterTopology>;
