namespace KestrelConnPeer;

/// <summary>Rooms as a dictionary of member sets, guarded by one lock: the same hub as KestrelPeer's.</summary>
public sealed class Rooms
{
    private readonly Dictionary<string, HashSet<Member>> _rooms = new(StringComparer.Ordinal);
    private int _members;

    /// <summary>Members in all rooms; the connection-cost bench waits for it to reach zero.</summary>
    public int MemberCount => Volatile.Read(ref _members);

    internal void Join(string room, Member member)
    {
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(room, out var members))
            {
                members = [];
                _rooms[room] = members;
            }

            if (members.Add(member))
            {
                _members++;
            }
        }
    }

    internal void Leave(string room, Member member)
    {
        lock (_rooms)
        {
            if (_rooms.TryGetValue(room, out var members) && members.Remove(member))
            {
                _members--;
                if (members.Count == 0)
                {
                    _rooms.Remove(room);
                }
            }
        }
    }

    /// <summary>Queues the same frame bytes to every member; enqueueing never blocks, so holding the lock is short.</summary>
    internal void Broadcast(string room, byte[] frame)
    {
        lock (_rooms)
        {
            if (_rooms.TryGetValue(room, out var members))
            {
                foreach (var member in members)
                {
                    member.Enqueue(frame);
                }
            }
        }
    }
}
