namespace Switchboard.Hub;

/// <summary>
/// This node's members of one room. Membership changes copy the member array under the room's lock;
/// fan-out reads the current array without any lock, so a join never waits for a publication to be
/// queued to thousands of members, nor the other way round.
/// </summary>
internal sealed class LocalRoom
{
    private readonly Dictionary<string, int> _connectionsPerUser = new(StringComparer.Ordinal);
    private Subscription[] _members = [];

    public LocalRoom(string name) => Name = name;

    public string Name { get; }

    public Subscription[] Members => Volatile.Read(ref _members);

    /// <summary>Set under the lock when the last member leaves; the room is then out of the hub's map and must not be reused.</summary>
    public bool Closed { get; private set; }

    public int UserCount
    {
        get
        {
            lock (this)
            {
                return _connectionsPerUser.Count;
            }
        }
    }

    /// <summary>Adds a member; false if the room closed meanwhile (the caller then fetches a fresh room).</summary>
    public bool TryAdd(Subscription member, out bool firstOfUser)
    {
        lock (this)
        {
            firstOfUser = false;
            if (Closed)
            {
                return false;
            }

            Volatile.Write(ref _members, [.. _members, member]);
            var user = member.Connection.User;
            _connectionsPerUser[user] = _connectionsPerUser.GetValueOrDefault(user) + 1;
            firstOfUser = _connectionsPerUser[user] == 1;
            return true;
        }
    }

    /// <summary>Removes a member, telling whether its user and the room itself are now gone from this node.</summary>
    public void Remove(Subscription member, out bool lastOfUser, out bool roomEmpty)
    {
        lock (this)
        {
            var index = Array.IndexOf(_members, member);
            lastOfUser = false;
            roomEmpty = false;
            if (index < 0)
            {
                return;
            }

            var next = new Subscription[_members.Length - 1];
            Array.Copy(_members, 0, next, 0, index);
            Array.Copy(_members, index + 1, next, index, next.Length - index);
            Volatile.Write(ref _members, next);

            var user = member.Connection.User;
            var left = _connectionsPerUser[user] - 1;
            if (left == 0)
            {
                _connectionsPerUser.Remove(user);
                lastOfUser = true;
            }
            else
            {
                _connectionsPerUser[user] = left;
            }

            roomEmpty = next.Length == 0;
            Closed = roomEmpty;
        }
    }

    /// <summary>The room's users with their connection counts on this node, sorted by user.</summary>
    public KeyValuePair<string, int>[] Presence()
    {
        lock (this)
        {
            return _connectionsPerUser.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        }
    }
}
