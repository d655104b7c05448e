using System.Collections.Concurrent;
using Switchboard.Connections;

namespace Switchboard.Endpoints;

/// <summary>
/// The rooms of <c>/rooms/{room}</c>, the protocol-free chat hub: every frame a member sends goes
/// as-is to every member, the sender included. Separate from protocol rooms: no offsets, no history.
/// </summary>
public sealed class PlainRooms
{
    private readonly ConcurrentDictionary<string, PlainRoom> _rooms = new(StringComparer.Ordinal);

    /// <summary>Rooms with members and their connection counts, sorted by name.</summary>
    public IReadOnlyList<(string Room, int Connections)> Rooms() =>
        _rooms.Values.Select(r => (r.Name, r.Members.Length)).OrderBy(r => r.Name, StringComparer.Ordinal).ToArray();

    /// <summary>Adds <paramref name="connection"/> to the room; null when the room already has <paramref name="maxMembers"/>.</summary>
    internal PlainRoom? Join(string name, Connection connection, int maxMembers)
    {
        while (true)
        {
            var room = _rooms.GetOrAdd(name, static n => new PlainRoom(n));
            switch (room.TryAdd(connection, maxMembers))
            {
                case PlainRoom.AddResult.Added:
                    return room;
                case PlainRoom.AddResult.Full:
                    return null;
            }

            // The room closed as its last member left: take the next one.
        }
    }

    internal void Leave(PlainRoom room, Connection connection)
    {
        if (room.Remove(connection))
        {
            _rooms.TryRemove(new KeyValuePair<string, PlainRoom>(room.Name, room));
        }
    }

    internal sealed class PlainRoom(string name)
    {
        private Connection[] _members = [];
        private bool _closed;

        public string Name { get; } = name;

        public Connection[] Members => Volatile.Read(ref _members);

        public enum AddResult
        {
            Added,
            Closed,
            Full,
        }

        /// <summary>
        /// Adds a member unless the room closed or is full. The cap also bounds the copy each join
        /// makes of the member array that broadcasts read without a lock.
        /// </summary>
        public AddResult TryAdd(Connection connection, int maxMembers)
        {
            lock (this)
            {
                if (_closed)
                {
                    return AddResult.Closed;
                }

                if (_members.Length >= maxMembers)
                {
                    return AddResult.Full;
                }

                Volatile.Write(ref _members, [.. _members, connection]);
                return AddResult.Added;
            }
        }

        /// <summary>Removes a member; true when the room became empty and closed.</summary>
        public bool Remove(Connection connection)
        {
            lock (this)
            {
                Volatile.Write(ref _members, _members.Where(c => c != connection).ToArray());
                _closed = _members.Length == 0;
                return _closed;
            }
        }

        /// <summary>
        /// Queues one frame to every member. The lock only orders concurrent senders, so that all members
        /// see the room's frames in the same order; it is held for queue writes, never for socket I/O.
        /// </summary>
        public void Broadcast(OutboundFrame frame)
        {
            lock (this)
            {
                foreach (var member in Volatile.Read(ref _members))
                {
                    member.TryEnqueue(frame);
                }
            }
        }
    }
}
