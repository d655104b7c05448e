using System.Diagnostics.Metrics;
using Switchboard.Options;

namespace Switchboard.Brokers;

/// <summary>
/// The memory broker's node-wide account of retained history: the bytes held in all, per publishing
/// user, and every retained publication in the order it was kept, so the node's oldest can be pushed
/// out whatever its room.
/// </summary>
/// <remarks>
/// Lock order: a stream's lock, then this ledger's. The ledger never takes a stream's lock, and the
/// broker evicts for the node budget by reading <see cref="Oldest"/>, then locking that stream.
/// A room's retained publications are linked here in the order of its own queue (both change under
/// the stream's lock, and a room only ever drops its oldest), so the node's oldest publication is
/// always the oldest of its room.
/// </remarks>
internal sealed class HistoryLedger(HistoryOptions options, Counter<long>? dropped)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _userBytes = new(StringComparer.Ordinal);
    private RetainedPublication? _oldest;
    private RetainedPublication? _newest;
    private long _bytes;
    private int _count;

    /// <summary>The budgets.</summary>
    public HistoryOptions Options { get; } = options;

    /// <summary>Bytes of history retained on the node.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Publications retained on the node.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The node's oldest retained publication, or null.</summary>
    public RetainedPublication? Oldest
    {
        get
        {
            lock (_lock)
            {
                return _oldest;
            }
        }
    }

    /// <summary>Bytes retained for publications of <paramref name="user"/>.</summary>
    public long UserBytes(string user)
    {
        lock (_lock)
        {
            return _userBytes.GetValueOrDefault(user);
        }
    }

    /// <summary>Counts publications a budget pushed out early or kept out (<c>switchboard.history.dropped</c>).</summary>
    public void CountDropped(string reason) => dropped?.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>
    /// Links <paramref name="entry"/> as the newest, unless it would take its publisher over
    /// <see cref="HistoryOptions.MaxBytesPerUser"/>. Called under the entry's stream lock.
    /// </summary>
    public bool TryAdd(RetainedPublication entry)
    {
        var maxBytesPerUser = Options.MaxBytesPerUser;
        lock (_lock)
        {
            if (entry.Publication.From is { } user)
            {
                var held = _userBytes.GetValueOrDefault(user);
                if (held + entry.Bytes > maxBytesPerUser)
                {
                    return false;
                }

                _userBytes[user] = held + entry.Bytes;
            }

            entry.Older = _newest;
            if (_newest is null)
            {
                _oldest = entry;
            }
            else
            {
                _newest.Newer = entry;
            }

            _newest = entry;
            entry.Linked = true;
            _bytes += entry.Bytes;
            _count++;
            return true;
        }
    }

    /// <summary>Unlinks <paramref name="entry"/>. Called under the entry's stream lock.</summary>
    public void Remove(RetainedPublication entry)
    {
        lock (_lock)
        {
            if (!entry.Linked)
            {
                return;
            }

            if (entry.Older is null)
            {
                _oldest = entry.Newer;
            }
            else
            {
                entry.Older.Newer = entry.Newer;
            }

            if (entry.Newer is null)
            {
                _newest = entry.Older;
            }
            else
            {
                entry.Newer.Older = entry.Older;
            }

            entry.Older = null;
            entry.Newer = null;
            entry.Linked = false;
            _bytes -= entry.Bytes;
            _count--;
            if (entry.Publication.From is { } user)
            {
                var left = _userBytes[user] - entry.Bytes;
                // A user who holds nothing takes no entry: the dictionary grows with the users holding history, not with every user ever seen.
                if (left == 0)
                {
                    _userBytes.Remove(user);
                }
                else
                {
                    _userBytes[user] = left;
                }
            }
        }
    }
}
