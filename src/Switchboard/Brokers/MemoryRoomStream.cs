using System.Diagnostics;
using System.Security.Cryptography;
using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// One room's stream in the in-memory broker: the offset counter, the epoch, a bounded history, and
/// whether the node is subscribed (the hub subscribes once per room and unsubscribes once). All
/// members are guarded by locking the instance, except <see cref="Deliveries"/>, which has its own
/// order: a publication enters it under the lock, so it leaves it in offset order.
/// </summary>
internal sealed class MemoryRoomStream
{
    private readonly Queue<Publication> _history = new();

    public MemoryRoomStream(string room)
    {
        Room = room;
        // 8 random bytes: a restarted node or a forgotten stream must never reuse an epoch a client holds.
        Epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    }

    public string Room { get; }

    public string Epoch { get; }

    public ulong Top { get; private set; }

    public bool Subscribed { get; set; }

    /// <summary>Publications appended but not yet handed to the node.</summary>
    public DeliveryLine Deliveries { get; } = new();

    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Set once the sweeper has dropped this stream; a caller holding it must fetch a new one.</summary>
    public bool Removed { get; set; }

    public StreamPosition Position => new(Top, Epoch);

    public Publication Append(string? from, ReadOnlyMemory<byte> payload, bool isBinary, int historySize, DateTimeOffset now, ActivityContext trace)
    {
        Top++;
        LastActivity = now;
        var publication = new Publication(Room, Top, from, payload, isBinary, now) { TraceContext = trace };
        Deliveries.Add(publication);
        if (historySize > 0)
        {
            _history.Enqueue(publication);
            while (_history.Count > historySize)
            {
                _history.Dequeue();
            }
        }

        return publication;
    }

    public void Trim(DateTimeOffset oldestKept)
    {
        while (_history.TryPeek(out var oldest) && oldest.Time < oldestKept)
        {
            _history.Dequeue();
        }
    }

    public StreamRead Read(StreamPosition? since, int limit)
    {
        if (since is not { } from)
        {
            var skip = Math.Max(0, _history.Count - limit);
            return new StreamRead(Position, _history.Skip(skip).ToArray(), null);
        }

        if (from.Epoch != Epoch || from.Offset > Top)
        {
            return new StreamRead(Position, Latest(limit), false);
        }

        var missed = Top - from.Offset;
        if (missed == 0)
        {
            return new StreamRead(Position, [], true);
        }

        var oldestRetained = _history.TryPeek(out var oldest) ? oldest.Offset : Top + 1;
        var complete = oldestRetained <= from.Offset + 1 && missed <= (ulong)limit;
        var after = _history.Where(p => p.Offset > from.Offset).Take(limit).ToArray();
        return new StreamRead(Position, after, complete);
    }

    private Publication[] Latest(int limit) => _history.Skip(Math.Max(0, _history.Count - limit)).ToArray();
}
