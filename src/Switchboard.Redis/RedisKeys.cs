using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Names of the Redis keys and channels. Every script touches the keys of one hash slot only, all
/// passed in <c>KEYS</c>, so that the same scripts run on a standalone Redis and on Redis Cluster:
/// a room's keys and its channel share the hash tag <c>{ROOM}</c>, a user's channel <c>{USER}</c>,
/// and the node-level keys (liveness index, rooms per node, recently active rooms) the tag
/// <see cref="NodesTag"/>. Room and user names are restricted to <c>A-Z a-z 0-9 _ - : . @ / = +</c>,
/// so they never contain a brace, a space or the <c>#</c> of that tag.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>
    /// The hash tag of the node-level keys. A room cannot be named <c>#nodes</c>, so no room's keys
    /// share their names; they live on the home shard (shard 0), and in a cluster on whichever master
    /// owns this tag's slot.
    /// </summary>
    public const string NodesTag = "{#nodes}";

    /// <summary>Hash: <c>epoch</c> and <c>top</c> (the last offset taken).</summary>
    public RedisKey Meta(string room) => $"{prefix}:{{{room}}}:meta";

    /// <summary>Stream of the retained publications; entry id <c>OFFSET-0</c>.</summary>
    public RedisKey Stream(string room) => $"{prefix}:{{{room}}}:stream";

    /// <summary>Set: ids of the nodes with presence entries in the room (live or not: readers check each node's liveness).</summary>
    public RedisKey Members(string room) => $"{prefix}:{{{room}}}:members";

    /// <summary>A node's presence hash in the room (user to connection count).</summary>
    public RedisKey NodePresence(string room, string node) => $"{prefix}:{{{room}}}:node:{node}";

    /// <summary>
    /// Hash: the users of the room whose last <c>joined</c>/<c>left</c> event was <c>joined</c> (user to 1),
    /// so that a user is announced once whichever nodes it is on (see <see cref="LuaScripts.PresenceWrite"/>).
    /// </summary>
    public RedisKey Announced(string room) => $"{prefix}:{{{room}}}:announced";

    /// <summary>The keys of the publish script: meta, stream, members, and the idempotency key's when there is one (all in the room's slot).</summary>
    public RedisKey[] PublishKeys(string room, string? idempotencyKey = null) => idempotencyKey is null
        ? [Meta(room), Stream(room), Members(room)]
        : [Meta(room), Stream(room), Members(room), PublishKey(room, idempotencyKey)];

    /// <summary>String: the position (<c>OFFSET EPOCH</c>) the room's publication with this idempotency key took; expires after the window.</summary>
    public RedisKey PublishKey(string room, string idempotencyKey) => $"{prefix}:{{{room}}}:idem:{idempotencyKey}";

    /// <summary>
    /// Sorted set: every node id, scored by when its liveness ends (Redis time, ms). A node is live
    /// while its score is in the future; its heartbeat moves the score on, and dead nodes are found here.
    /// </summary>
    public RedisKey NodeIndex => $"{prefix}:{NodesTag}:index";

    /// <summary>Set: the rooms where a node has presence entries, for whoever cleans up after it.</summary>
    public RedisKey NodeRooms(string node) => $"{prefix}:{NodesTag}:rooms:{node}";

    /// <summary>Sorted set: rooms scored by their last publication (Redis time, ms); the rooms worth a loss probe.</summary>
    public RedisKey Active => $"{prefix}:{NodesTag}:active";

    /// <summary>
    /// The name of the channel a node listens on for POSTs of its streams' commands made to other nodes,
    /// and for the answers to those it forwarded (<see cref="RedisSessionRelay"/>); on the home shard.
    /// </summary>
    public string PostsChannelName(string node) => $"{prefix}:{NodesTag}:posts:{node}";

    /// <summary>The name of the channel that carries the room's publications and presence events; tagged like the room's keys.</summary>
    public string RoomChannelName(string room) => $"{prefix}:room:{{{room}}}";

    /// <summary>The name of the channel that carries a user's direct messages; tagged by the user.</summary>
    public string UserChannelName(string user) => $"{prefix}:user:{{{user}}}";

    /// <summary>String: how many direct messages were sent to the user lately; in the slot of the user's channel.</summary>
    public RedisKey DirectCount(string user) => $"{prefix}:user:{{{user}}}:directs";

    /// <summary>
    /// The name of a channel that only <paramref name="node"/> subscribes to and publishes its pub/sub
    /// liveness pings on; <paramref name="tag"/> is its hash tag, chosen on a cluster so that the channel's
    /// slot lives on the master whose subscriber connection it checks.
    /// </summary>
    public string ProbeChannelName(string node, string tag) => $"{prefix}:probe:{node}:{{{tag}}}";
}
