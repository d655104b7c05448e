namespace KestrelPeer;

/// <summary>Rooms as a dictionary of member sets, guarded by one lock: the simplest correct hub.</summary>
internal sealed class Rooms
{
    private readonly Dictionary<string, HashSet<Member>> _rooms = new(StringComparer.Ordinal);

    public void Join(string room, Member member)
    {
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(room, out var members))
            {
                members = [];
                _rooms[room] = members;
            }

            members.Add(member);
        }
    }

    public void Leave(string room, Member member)
    {
        lock (_rooms)
        {
            if (_rooms.TryGetValue(room, out var members) && members.Remove(member) && members.Count == 0)
            {
                _rooms.Remove(room);
            }
        }
    }

    /// <summary>Queues the same bytes to every member; enqueueing never blocks, so holding the lock is short.</summary>
    public void Broadcast(string room, byte[] message)
    {
        lock (_rooms)
        {
            if (_rooms.TryGetValue(room, out var members))
            {
                foreach (var member in members)
                {
                    member.Enqueue(message);
                }
            }
        }
    }
}
