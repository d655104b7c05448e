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
/// <remarks>
/// The history is bounded by count (<c>History:Size</c>) and bytes (<c>History:MaxBytesPerRoom</c>),
/// oldest out; the node's <see cref="HistoryLedger"/> bounds it per user and per node. It may have
/// holes (a publication kept out by its publisher's budget), so a recovery is complete only when
/// every missed offset is found.
/// </remarks>
internal sealed class MemoryRoomStream
{
    private static readonly Queue<RetainedPublication> NoHistory = new();

    private readonly HistoryLedger _ledger;
    // Both created on first use: a joined room that nobody publishes to (most small rooms, most of
    // the time) holds neither, and every room on the node has a stream.
    private Queue<RetainedPublication>? _history;
    private RecentPublishKeys? _keys;
    private bool _subscribed;

    public MemoryRoomStream(string room, HistoryLedger ledger)
    {
        Room = room;
        _ledger = ledger;
        // 8 random bytes: a restarted node or a forgotten stream must never reuse an epoch a client holds.
        Epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    }

    public string Room { get; }

    public string Epoch { get; }

    public ulong Top { get; private set; }

    public bool Subscribed
    {
        get => _subscribed;
        set
        {
            _subscribed = value;
            Joined |= value;
        }
    }

    /// <summary>Whether the room has had a member on this node since the stream began: only then is history kept, unless <c>History:KeepUnjoinedRooms</c>.</summary>
    public bool Joined { get; private set; }

    /// <summary>Bytes of history the room holds, as the budgets count them.</summary>
    public long RetainedBytes { get; private set; }

    /// <summary>The idempotency keys of recent publications and the offsets they took (created by the first publication with a key).</summary>
    public RecentPublishKeys Keys => _keys ??= new RecentPublishKeys(TimeSpan.FromSeconds(_ledger.Options.IdempotencyWindowSeconds), _ledger.Options.IdempotencyKeysPerRoom);

    /// <summary>Publications appended but not yet handed to the node.</summary>
    public DeliveryLine Deliveries { get; } = new();

    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Set once the sweeper has dropped this stream; a caller holding it must fetch a new one.</summary>
    public bool Removed { get; set; }

    public StreamPosition Position => new(Top, Epoch);

    public Publication Append(string? from, ReadOnlyMemory<byte> payload, bool isBinary, DateTimeOffset now, ActivityContext trace)
    {
        Top++;
        LastActivity = now;
        var publication = new Publication(Room, Top, from, payload, isBinary, now) { TraceContext = trace };
        Deliveries.Add(publication);
        Retain(publication);
        return publication;
    }

    private void Retain(Publication publication)
    {
        var budget = _ledger.Options;
        if (budget.Size == 0 || !(Joined || budget.KeepUnjoinedRooms))
        {
            return;
        }

        var entry = new RetainedPublication(publication, this);
        if (entry.Bytes > budget.MaxBytesPerRoom)
        {
            _ledger.CountDropped(DropReasons.RoomBytes);
            return;
        }

        if (!_ledger.TryAdd(entry))
        {
            _ledger.CountDropped(DropReasons.UserBytes);
            return;
        }

        (_history ??= new()).Enqueue(entry);
        RetainedBytes += entry.Bytes;
        while (_history.Count > budget.Size)
        {
            RemoveOldest();
        }

        // Never removes the entry just added: it alone fits the budget.
        while (RetainedBytes > budget.MaxBytesPerRoom)
        {
            RemoveOldest();
            _ledger.CountDropped(DropReasons.RoomBytes);
        }
    }

    public void Trim(DateTimeOffset oldestKept)
    {
        while (_history is not null && _history.TryPeek(out var oldest) && oldest.Publication.Time < oldestKept)
        {
            RemoveOldest();
        }
    }

    /// <summary>Drops all history; the stream is being forgotten.</summary>
    public void Clear()
    {
        while (_history is { Count: > 0 })
        {
            RemoveOldest();
        }
    }

    /// <summary>
    /// Pushes out <paramref name="entry"/>, the node's oldest, for the node budget; false if it is no
    /// longer retained (its room dropped it meanwhile).
    /// </summary>
    public bool EvictForNode(RetainedPublication entry)
    {
        if (!entry.Linked)
        {
            return false;
        }

        // The ledger keeps each room's publications in the room's order, so the node's oldest is its room's oldest.
        Debug.Assert(_history?.Peek() == entry, "the node's oldest retained publication is its room's oldest");
        RemoveOldest();
        _ledger.CountDropped(DropReasons.NodeBytes);
        return true;
    }

    public StreamRead Read(StreamPosition? since, int limit)
    {
        if (since is not { } from)
        {
            return new StreamRead(Position, Latest(limit), null);
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

        var after = History.Where(e => e.Publication.Offset > from.Offset).Take(limit).Select(e => e.Publication).ToArray();
        // Offsets are distinct and at most Top, so finding as many as were missed means none is missing,
        // also where a budget kept a publication out of the middle of the history.
        var complete = missed <= (ulong)limit && (ulong)after.Length == missed;
        return new StreamRead(Position, after, complete);
    }

    private void RemoveOldest()
    {
        var oldest = _history!.Dequeue();
        RetainedBytes -= oldest.Bytes;
        _ledger.Remove(oldest);
    }

    private Queue<RetainedPublication> History => _history ?? NoHistory;

    private Publication[] Latest(int limit) => History.Skip(Math.Max(0, History.Count - limit)).Select(e => e.Publication).ToArray();
}
