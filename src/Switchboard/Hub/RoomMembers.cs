using Switchboard.Connections;

namespace Switchboard.Hub;

/// <summary>
/// One room's members on this node and how many connections each user has among them, shaped for
/// the commonest room, the one with a single member: that member is one field, and the set and the
/// per-user counts are created only when a second member arrives (about 300 bytes a room otherwise
/// held for nothing; a room that had two members keeps them). Not thread-safe: <see cref="LocalRoom"/>
/// guards it with its lock, and it lives in that room's field (a struct, so no object of its own).
/// </summary>
internal struct RoomMembers
{
    // The only member, while the set does not exist.
    private RoomSubscription? _only;
    private HashSet<RoomSubscription>? _set;
    private Dictionary<string, int>? _connectionsPerUser;

    public readonly int Count => _set?.Count ?? (_only is null ? 0 : 1);

    /// <summary>Distinct users: with no per-user counts there is at most one member, hence one user.</summary>
    public readonly int UserCount => _connectionsPerUser?.Count ?? Count;

    /// <summary>Adds a new membership; true when it is its user's first connection in the room.</summary>
    public bool Add(RoomSubscription member)
    {
        if (_set is null && _only is null)
        {
            _only = member;
            return true;
        }

        if (_set is not { } set)
        {
            set = _set = [_only!];
            _connectionsPerUser = new(StringComparer.Ordinal) { [_only!.Connection.User] = 1 };
            _only = null;
        }

        set.Add(member);
        var user = member.Connection.User;
        var perUser = _connectionsPerUser!;
        var count = perUser.GetValueOrDefault(user) + 1;
        perUser[user] = count;
        return count == 1;
    }

    /// <summary>Removes a membership; false if it was not one. <paramref name="lastOfUser"/>: it was its user's last connection here.</summary>
    public bool Remove(RoomSubscription member, out bool lastOfUser)
    {
        lastOfUser = false;
        if (_set is null)
        {
            if (_only is null || _only != member)
            {
                return false;
            }

            _only = null;
            lastOfUser = true;
            return true;
        }

        if (!_set.Remove(member))
        {
            return false;
        }

        var user = member.Connection.User;
        var perUser = _connectionsPerUser!;
        var left = perUser[user] - 1;
        lastOfUser = left == 0;
        if (lastOfUser)
        {
            perUser.Remove(user);
        }
        else
        {
            perUser[user] = left;
        }

        return true;
    }

    /// <summary>A copy of the members, for fan-out to walk without the lock.</summary>
    public readonly RoomSubscription[] ToArray() => _set is not null ? [.. _set] : _only is null ? [] : [_only];

    /// <summary>The users with their connection counts, sorted by user.</summary>
    public readonly KeyValuePair<string, int>[] Presence() =>
        _connectionsPerUser is not null ? _connectionsPerUser.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray()
        : _only is null ? []
        : [new(_only.Connection.User, 1)];
}
