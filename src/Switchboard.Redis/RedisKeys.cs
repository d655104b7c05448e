using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Names of the Redis keys and channels. A room's keys share the hash tag <c>{room}</c>, so one Lua
/// script may touch all of them. Room and user names are restricted to <c>A-Z a-z 0-9 _ - : . @ / = +</c>,
/// so they never contain a brace or a space.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>Hash: <c>epoch</c> and <c>top</c> (the last offset taken).</summary>
    public RedisKey Meta(string room) => $"{prefix}:{{{room}}}:meta";

    /// <summary>Stream of the retained publications; entry id <c>OFFSET-0</c>.</summary>
    public RedisKey Stream(string room) => $"{prefix}:{{{room}}}:stream";

    /// <summary>Set: ids of the nodes with presence entries in the room (live or not: readers check each node's liveness key).</summary>
    public RedisKey Members(string room) => $"{prefix}:{{{room}}}:members";

    /// <summary>Prefix of the per-node presence hashes (user to connection count); the node id follows.</summary>
    public string NodePresencePrefix(string room) => $"{prefix}:{{{room}}}:node:";

    /// <summary>This node's presence hash in the room.</summary>
    public RedisKey NodePresence(string room, string node) => NodePresencePrefix(room) + node;

    /// <summary>String: the position (<c>OFFSET EPOCH</c>) the room's publication with this idempotency key took; expires after the window.</summary>
    public RedisKey PublishKey(string room, string idempotencyKey) => $"{prefix}:{{{room}}}:idem:{idempotencyKey}";

    /// <summary>The keys of the publish script: meta, stream, members, the active rooms, and the idempotency key's when there is one.</summary>
    public RedisKey[] PublishKeys(string room, string? idempotencyKey = null) => idempotencyKey is null
        ? [Meta(room), Stream(room), Members(room), Active]
        : [Meta(room), Stream(room), Members(room), Active, PublishKey(room, idempotencyKey)];

    /// <summary>A node's liveness key: exists while the node renews it (every presence interval, expiring after the timeout).</summary>
    public RedisKey Liveness(string node) => LivenessPrefix + node;

    /// <summary>Prefix of the liveness keys; the node id follows.</summary>
    public string LivenessPrefix => $"{prefix}:node:";

    /// <summary>Set: the rooms where a node has presence entries, for whoever cleans up after it.</summary>
    public RedisKey NodeRooms(string node) => $"{prefix}:node:{node}:rooms";

    /// <summary>Sorted set: every node id, scored by when its liveness key expires (Redis time, ms); how dead nodes are found.</summary>
    public RedisKey NodeIndex => $"{prefix}:nodes";

    /// <summary>Sorted set: room channels scored by their last publication (Redis time, ms); the rooms worth a loss probe.</summary>
    public RedisKey Active => $"{prefix}:active";

    /// <summary>The key prefix, for scripts that build room keys.</summary>
    public string Prefix => prefix;

    /// <summary>The room of a room channel name.</summary>
    public string RoomOfChannel(string channel) => channel[$"{prefix}:room:".Length..];

    /// <summary>The channel that carries the room's publications and presence events.</summary>
    public RedisChannel RoomChannel(string room) => RedisChannel.Literal(RoomChannelName(room));

    /// <summary>The room channel's name, for the publish script.</summary>
    public string RoomChannelName(string room) => $"{prefix}:room:{room}";

    /// <summary>The channel that carries a user's direct messages.</summary>
    public RedisChannel UserChannel(string user) => RedisChannel.Literal($"{prefix}:user:{user}");
}
