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

    /// <summary>Sorted set: ids of the nodes with members in the room, scored by when their entry expires (Redis time, ms).</summary>
    public RedisKey Nodes(string room) => $"{prefix}:{{{room}}}:nodes";

    /// <summary>Prefix of the per-node presence hashes (user to connection count); the node id follows.</summary>
    public string NodePresencePrefix(string room) => $"{prefix}:{{{room}}}:node:";

    /// <summary>This node's presence hash in the room.</summary>
    public RedisKey NodePresence(string room, string node) => NodePresencePrefix(room) + node;

    /// <summary>The channel that carries the room's publications and presence events.</summary>
    public RedisChannel RoomChannel(string room) => RedisChannel.Literal(RoomChannelName(room));

    /// <summary>The room channel's name, for the publish script.</summary>
    public string RoomChannelName(string room) => $"{prefix}:room:{room}";

    /// <summary>The channel that carries a user's direct messages.</summary>
    public RedisChannel UserChannel(string user) => RedisChannel.Literal($"{prefix}:user:{user}");
}
