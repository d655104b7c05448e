namespace Switchboard.Redis;

/// <summary>
/// The Redis broker's settings, bound from <c>Switchboard:Redis</c> (so <c>Switchboard__Redis__Configuration</c>
/// in the environment). Used when <c>Switchboard:Broker</c> is <c>redis</c>.
/// </summary>
public sealed class RedisBrokerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Switchboard:Redis";

    /// <summary>
    /// The StackExchange.Redis connection string, for example <c>127.0.0.1:6379</c> or
    /// <c>redis.internal:6379,password=secret</c>: one shard. Required with the Redis broker unless
    /// <see cref="Shards"/> is set (one or the other, not both).
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Several Redis deployments (StackExchange.Redis connection strings, each a standalone Redis or a
    /// Redis Cluster) that rooms and users are spread over by a stable hash of their names. Shard 0
    /// also holds the node-level keys (liveness, node directory). Every node must list the same shards
    /// in the same order; changing the list moves rooms, which start over on their new shard, so it
    /// takes a full restart of every node. Empty: the single <see cref="Configuration"/>.
    /// </summary>
    public IList<string> Shards { get; } = [];

    /// <summary>
    /// Whether the shards are Redis Clusters (channels are then sharded: SSUBSCRIBE and SPUBLISH, Redis
    /// 7.0 or later). Unset: detected per shard at start-up from the server's mode; a shard unreachable
    /// at start-up is then taken for a standalone Redis, so set this with a cluster.
    /// </summary>
    public bool? Cluster { get; set; }

    /// <summary>
    /// Prefix of every key and channel, so several Switchboard deployments can share one Redis
    /// (<c>sb</c> gives <c>sb:{room}:stream</c>, <c>sb:room:lobby</c>).
    /// </summary>
    public string KeyPrefix { get; set; } = "sb";

    /// <summary>
    /// Seconds between this node's heartbeats: one Redis script whatever the number of rooms, which
    /// renews the node's liveness key, cleans up after dead nodes and checks the rooms published to
    /// lately for publications a lost pub/sub message left undelivered.
    /// </summary>
    public double PresenceIntervalSeconds { get; set; } = 5;

    /// <summary>
    /// Seconds after its last heartbeat that a node's liveness key expires; its presence entries count
    /// only while it exists. A node that dies without a word leaves presence within this time, plus
    /// one interval for <c>left</c> events.
    /// </summary>
    public double PresenceTimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// Longest a Redis call may take before the node treats Redis as unavailable for that request
    /// (the client gets <c>unavailable</c>, the HTTP API 503).
    /// </summary>
    public double OperationTimeoutSeconds { get; set; } = 2;

    /// <summary>
    /// How long a node waits for a missing offset to arrive by pub/sub before reading it from the
    /// stream. Gaps are normal for a moment (a local publication is delivered before the pub/sub
    /// messages of earlier ones arrive), so this only delays recovery from a real loss.
    /// </summary>
    public double GapWaitMilliseconds { get; set; } = 100;

    /// <summary>
    /// How many replicas must confirm a publication before it is acknowledged (Redis's <c>WAIT</c>, sent
    /// after the publish script on the same connection). <c>0</c>, the default: acknowledged once the
    /// master ran the script, so a failover to a replica that had not received it yet loses it (the
    /// next publication takes its offset again, the nodes rotate the room's epoch and tell its members).
    /// <c>1</c> or more: a publication the replicas did not confirm within half of <see cref="OperationTimeoutSeconds"/> is answered <c>unavailable</c> (it
    /// may exist anyway, as any publication whose answer was lost). Costs one round trip to the replicas
    /// per publication, during which the node's other commands to that shard wait. Standalone and
    /// Sentinel-managed shards only (a cluster routes <c>WAIT</c> to an arbitrary master).
    /// </summary>
    public int WaitForReplicas { get; set; }

    /// <summary>
    /// Seconds between this node's pub/sub liveness pings on each shard: a small message published on
    /// a channel of the node's own, which must come back through its subscriber connection. A subscriber
    /// connection that went silent (half-open, or its subscriptions dropped) is found within this plus
    /// <see cref="PubSubProbeTimeoutSeconds"/>; 0 turns the probe off.
    /// </summary>
    public double PubSubProbeIntervalSeconds { get; set; } = 2;

    /// <summary>
    /// How long a ping may take to come back before the node reports the shard unavailable
    /// (<c>/readyz</c> 503), makes StackExchange.Redis drop the connection and, once pings flow again,
    /// catches up every room.
    /// </summary>
    public double PubSubProbeTimeoutSeconds { get; set; } = 2;

    /// <summary>The connection string of every shard, in order: <see cref="Shards"/>, or the one <see cref="Configuration"/>.</summary>
    public IReadOnlyList<string> ShardConfigurations() =>
        Shards.Count > 0 ? [.. Shards] : Configuration is { } single ? [single] : [];
}
