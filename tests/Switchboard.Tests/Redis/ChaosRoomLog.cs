using System.Text.Json;

namespace Switchboard.Tests.Redis;

/// <summary>
/// One chaos member's record of one room, in the order things happened: where it first joined, each
/// offset it holds (with the epoch of the membership that delivered it, since messages do not carry
/// their epoch) and each time it was told that part of an epoch is lost to it.
/// </summary>
public sealed class ChaosRoomLog(string room)
{
    private readonly object _gate = new();
    private readonly List<Entry> _entries = [];
    private (string Epoch, ulong Offset)? _position;
    private bool _joined;
    private int _removed;
    private int _notRecovered;
    private int _recovered;

    public string Room { get; } = room;

    public bool IsJoined
    {
        get
        {
            lock (_gate)
            {
                return _joined;
            }
        }
    }

    /// <summary>The epoch and offset of the last publication it holds (or of its join), if it joined once.</summary>
    public (string Epoch, ulong Offset)? Position
    {
        get
        {
            lock (_gate)
            {
                return _position;
            }
        }
    }

    /// <summary>How many offsets it holds in <paramref name="epoch"/>, or in every epoch when null.</summary>
    public int HeldCount(string? epoch = null)
    {
        lock (_gate)
        {
            return _entries.Count(e => e.Kind == EntryKind.Held && (epoch is null || e.Epoch == epoch));
        }
    }

    /// <summary>How many <c>removed</c> with <c>stream_lost</c> it received.</summary>
    public int RemovedCount
    {
        get
        {
            lock (_gate)
            {
                return _removed;
            }
        }
    }

    /// <summary>How many missed publications join replies brought back with <c>recovered:true</c>.</summary>
    public int RecoveredCount
    {
        get
        {
            lock (_gate)
            {
                return _recovered;
            }
        }
    }

    /// <summary>How many join replies said <c>recovered:false</c>.</summary>
    public int NotRecoveredCount
    {
        get
        {
            lock (_gate)
            {
                return _notRecovered;
            }
        }
    }

    /// <summary>The position to send as <c>since</c>: nothing before the first join.</summary>
    public (string Epoch, ulong Offset)? Since() => Position;

    public void Joining()
    {
        lock (_gate)
        {
            _joined = false;
        }
    }

    public void Disconnected() => Joining();

    /// <summary>A live message; false when it came while the member was not in the room.</summary>
    public bool Deliver(ulong offset, string data)
    {
        lock (_gate)
        {
            if (!_joined || _position is not { } position)
            {
                return false;
            }

            Hold(position.Epoch, offset, data);
            return true;
        }
    }

    /// <summary><c>removed</c> with <c>stream_lost</c>: what comes after its position in its epoch is lost to it.</summary>
    public void ToldStreamLost()
    {
        lock (_gate)
        {
            _joined = false;
            _removed++;
            Told(_position?.Epoch ?? "", _position?.Offset ?? 0, ulong.MaxValue);
        }
    }

    /// <summary>A join reply: its epoch becomes the membership's, its publications are held in it.</summary>
    public void Joined(JsonElement reply)
    {
        lock (_gate)
        {
            var epoch = reply.GetProperty("epoch").GetString()!;
            var offset = reply.GetProperty("offset").GetUInt64();
            IEnumerable<JsonElement> publications = reply.TryGetProperty("publications", out var recovered) ? [.. recovered.EnumerateArray()] : [];
            if (_position is { } since && !reply.GetProperty("recovered").GetBoolean())
            {
                // Told that what lies between its position and the first publication the reply brings
                // is gone: the rest of the epoch it held and, in a new epoch, the offsets no longer retained.
                var firstBrought = publications.Select(p => p.GetProperty("offset").GetUInt64()).DefaultIfEmpty(offset + 1).First();
                _notRecovered++;
                if (epoch == since.Epoch)
                {
                    Told(epoch, since.Offset, firstBrought - 1);
                }
                else
                {
                    Told(since.Epoch, since.Offset, ulong.MaxValue);
                    Told(epoch, 0, firstBrought - 1);
                }
            }
            else if (_position is null)
            {
                _entries.Add(new Entry(EntryKind.FirstJoin, epoch, offset, null));
            }
            else
            {
                _recovered += publications.Count();
            }

            foreach (var publication in publications)
            {
                Hold(epoch, publication.GetProperty("offset").GetUInt64(), publication.GetProperty("data").GetString()!);
            }

            // Every offset above the reply's follows it.
            _position = (epoch, offset);
            _joined = true;
        }
    }

    /// <summary>Told that offsets after <paramref name="after"/> up to <paramref name="through"/> of <paramref name="epoch"/> are lost to it.</summary>
    private void Told(string epoch, ulong after, ulong through) => _entries.Add(new Entry(EntryKind.Told, epoch, after, null, through));

    private void Hold(string epoch, ulong offset, string data)
    {
        _entries.Add(new Entry(EntryKind.Held, epoch, offset, data));
        _position = (epoch, offset);
    }

    /// <summary>
    /// Every breach of the contract: within an epoch, offsets held contiguously from where it joined
    /// (a gap only right after being told), each once and in order, each the acknowledged publication;
    /// no publication held twice; every acknowledged one it does not hold covered by being told.
    /// </summary>
    public List<string> Check(IReadOnlyDictionary<(string Epoch, ulong Offset), string> acknowledged, IReadOnlySet<string> unacknowledged)
    {
        var problems = new List<string>();
        lock (_gate)
        {
            var last = new Dictionary<string, ulong>();
            var gapAllowed = new HashSet<string>();
            var told = new List<Entry>();
            var seen = new HashSet<string>();
            var held = new HashSet<(string, ulong)>();
            (string Epoch, ulong Offset)? firstJoin = null;
            foreach (var entry in _entries)
            {
                switch (entry.Kind)
                {
                    case EntryKind.FirstJoin:
                        firstJoin = (entry.Epoch, entry.Offset);
                        last[entry.Epoch] = entry.Offset;
                        break;
                    case EntryKind.Told:
                        told.Add(entry);
                        gapAllowed.Add(entry.Epoch);
                        break;
                    case EntryKind.Held:
                        var at = $"{Room} {entry.Epoch}:{entry.Offset}";
                        if (!seen.Add(entry.Data!))
                        {
                            problems.Add($"{at} holds {entry.Data} a second time");
                        }

                        var expected = last.TryGetValue(entry.Epoch, out var before) ? before + 1 : 1;
                        if (entry.Offset != expected && !(gapAllowed.Contains(entry.Epoch) && entry.Offset > expected))
                        {
                            problems.Add($"{at} follows {(last.ContainsKey(entry.Epoch) ? before.ToString() : "nothing")} of that epoch");
                        }

                        gapAllowed.Remove(entry.Epoch);
                        last[entry.Epoch] = Math.Max(entry.Offset, before);
                        held.Add((entry.Epoch, entry.Offset));
                        if (acknowledged.TryGetValue((entry.Epoch, entry.Offset), out var data))
                        {
                            if (data != entry.Data)
                            {
                                problems.Add($"{at} holds {entry.Data} where {data} was acknowledged");
                            }
                        }
                        else if (!unacknowledged.Contains(entry.Data!))
                        {
                            problems.Add($"{at} holds {entry.Data}, acknowledged elsewhere or never published");
                        }

                        break;
                }
            }

            foreach (var ((epoch, offset), data) in acknowledged)
            {
                var beforeJoining = firstJoin is { } first && first.Epoch == epoch && offset <= first.Offset;
                if (!held.Contains((epoch, offset)) && !beforeJoining && !told.Any(t => t.Epoch == epoch && offset > t.Offset && offset <= t.Through))
                {
                    problems.Add($"{Room} {epoch}:{offset} ({data}) acknowledged, never held, and never told");
                }
            }
        }

        return problems;
    }

    private enum EntryKind
    {
        FirstJoin,
        Held,
        Told,
    }

    private sealed record Entry(EntryKind Kind, string Epoch, ulong Offset, string? Data, ulong Through = 0);
}
