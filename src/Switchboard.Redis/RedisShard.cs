using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// One of the Redis deployments the broker spreads rooms and users over: a standalone Redis (or a
/// primary with its replicas) or a Redis Cluster, behind one StackExchange.Redis connection. It knows
/// how its channels are named (sharded pub/sub on a cluster) and whether it can serve right now.
/// </summary>
internal sealed class RedisShard(int index, ConnectionMultiplexer redis, bool cluster)
{
    // The script texts with a shebang, one per script (a handful, for the life of the process).
    private static readonly ConcurrentDictionary<string, string> Flagged = new(StringComparer.Ordinal);

    private int _interactiveFailures;
    private bool _subscriptionDown;
    private bool _writable;

    /// <summary>The shard's position in <c>Switchboard:Redis:Shards</c>; shard 0 also holds the node-level keys.</summary>
    public int Index { get; } = index;

    public ConnectionMultiplexer Redis { get; } = redis;

    /// <summary>
    /// Whether this is a Redis Cluster: channels are then sharded (SSUBSCRIBE, SPUBLISH), so that a
    /// publication reaches only the master that owns its room's slot, not every node of the cluster.
    /// </summary>
    public bool IsCluster { get; } = cluster;

    /// <summary>The publish script's argument that selects SPUBLISH (<c>s</c>) or PUBLISH (<c>p</c>).</summary>
    public string PublishMode => IsCluster ? "s" : "p";

    /// <summary>Whether the pub/sub connection is down (reported by StackExchange.Redis's events).</summary>
    public bool SubscriptionDown
    {
        get => Volatile.Read(ref _subscriptionDown);
        set => Volatile.Write(ref _subscriptionDown, value);
    }

    /// <summary>Whether a script went through since the interactive connection last failed.</summary>
    public bool Writable
    {
        get => Volatile.Read(ref _writable);
        set => Volatile.Write(ref _writable, value);
    }

    /// <summary>The running check that sets <see cref="Writable"/>; guarded by the broker's lifecycle lock.</summary>
    public Task Verify { get; set; } = Task.CompletedTask;

    /// <summary>Failures of the interactive connection so far: a check that saw one meanwhile is not trusted.</summary>
    public int InteractiveFailures => Volatile.Read(ref _interactiveFailures);

    public string Endpoints => string.Join(",", Redis.GetEndPoints().Select(e => e.ToString()));

    /// <summary>
    /// The liveness probes of this shard's subscriber connections: one on a standalone Redis, one per
    /// master on a cluster. Assigned once by the probe loop (one write of a list nobody changes), empty before.
    /// </summary>
    public IReadOnlyList<PubSubProbe> Probes { get; set; } = [];

    /// <summary>Whether a subscriber connection of this shard went silent: a probe's ping did not come back in time.</summary>
    public bool PubSubSilent => Probes.Any(p => p.Stalled);

    /// <summary>Why this shard cannot serve, or null when it can.</summary>
    public string? Unavailable =>
        !Redis.IsConnected ? $"redis: no connection to {Endpoints}"
        : !Writable ? $"redis: reconnecting to {Endpoints}"
        : SubscriptionDown ? $"redis: the pub/sub connection to {Endpoints} is down"
        : PubSubSilent ? $"redis: the pub/sub connection to {Endpoints} is silent (a liveness ping did not come back)"
        : null;

    /// <summary>A channel of this shard: sharded on a cluster (the name carries its room's or user's hash tag), plain otherwise.</summary>
    public RedisChannel Channel(string name) => IsCluster ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    /// <summary>
    /// The text to run for <paramref name="script"/>. On a cluster it starts with the <c>#!lua</c>
    /// shebang: Redis 7 then runs it without the compatibility mode's allowance for keys of several
    /// slots, so a script that strays outside its room's slot fails loudly instead of working on one
    /// master and not on another. (Standalone shards keep the plain text, which Redis 6 runs too.)
    /// </summary>
    public string Script(string script) => IsCluster ? Flagged.GetOrAdd(script, static s => "#!lua\n" + s) : script;

    public void OnInteractiveFailure()
    {
        Interlocked.Increment(ref _interactiveFailures);
        Writable = false;
    }
}
