using System.Text;
using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Tests.Brokers;

/// <summary>
/// A node as a broker sees it, recording everything delivered. Its local presence is whatever the
/// test sets. Thread-safe: brokers call it from their own threads.
/// </summary>
public sealed class RecordingHandler : IBrokerHandler
{
    private readonly Lock _lock = new();
    private readonly List<Publication> _publications = [];
    private readonly List<(string User, string Text)> _directs = [];
    private readonly List<(string Room, string Text)> _presenceChanges = [];
    private readonly List<string> _streamLosses = [];
    private readonly Dictionary<string, Dictionary<string, int>> _presence = new(StringComparer.Ordinal);

    public void OnPublication(Publication publication)
    {
        lock (_lock)
        {
            _publications.Add(publication);
        }
    }

    public void OnDirect(string user, OutboundFrame frame)
    {
        lock (_lock)
        {
            _directs.Add((user, Encoding.UTF8.GetString(frame.Data)));
        }
    }

    public void OnPresenceChange(string room, OutboundFrame frame)
    {
        lock (_lock)
        {
            _presenceChanges.Add((room, Encoding.UTF8.GetString(frame.Data)));
        }
    }

    public void OnStreamLost(string room)
    {
        lock (_lock)
        {
            _streamLosses.Add(room);
        }
    }

    public IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room)
    {
        lock (_lock)
        {
            return _presence.TryGetValue(room, out var users) ? users.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray() : [];
        }
    }

    public IReadOnlyCollection<string> LocalRooms()
    {
        lock (_lock)
        {
            return _presence.Keys.ToArray();
        }
    }

    /// <summary>Sets this node's connections of <paramref name="user"/> in <paramref name="room"/> (0 removes the user).</summary>
    public void SetPresence(string room, string user, int connections)
    {
        lock (_lock)
        {
            var users = _presence.TryGetValue(room, out var existing) ? existing : _presence[room] = new(StringComparer.Ordinal);
            if (connections > 0)
            {
                users[user] = connections;
            }
            else
            {
                users.Remove(user);
            }
        }
    }

    /// <summary>The offsets delivered for <paramref name="room"/>, in delivery order.</summary>
    public ulong[] Offsets(string room)
    {
        lock (_lock)
        {
            return _publications.Where(p => p.Room == room).Select(p => p.Offset).ToArray();
        }
    }

    public Publication[] Publications(string room)
    {
        lock (_lock)
        {
            return _publications.Where(p => p.Room == room).ToArray();
        }
    }

    public string[] Directs(string user)
    {
        lock (_lock)
        {
            return _directs.Where(d => d.User == user).Select(d => d.Text).ToArray();
        }
    }

    public string[] PresenceChanges(string room)
    {
        lock (_lock)
        {
            return _presenceChanges.Where(p => p.Room == room).Select(p => p.Text).ToArray();
        }
    }

    public int StreamLosses(string room)
    {
        lock (_lock)
        {
            return _streamLosses.Count(r => r == room);
        }
    }
}
