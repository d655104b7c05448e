namespace Switchboard.Redis;

/// <summary>A user's first connection on a node joined a room (<paramref name="Joined"/>), or its last there left.</summary>
internal readonly record struct PresenceChange(string User, bool Joined);
