namespace Switchboard.Brokers;

/// <summary>
/// One room's idempotency keys in the in-memory broker: which offset each key's publication took, for
/// <c>History:IdempotencyWindowSeconds</c> and at most <c>History:IdempotencyKeysPerRoom</c> keys
/// (the oldest forgotten first), so that a publisher retrying after a lost reply appends nothing.
/// Guarded by the room stream's lock.
/// </summary>
internal sealed class RecentPublishKeys(TimeSpan window, int capacity)
{
    private readonly Dictionary<string, ulong> _offsets = new(StringComparer.Ordinal);
    // Keys in the order they were first used, which is also the order they expire in.
    private readonly Queue<(string Key, DateTimeOffset At)> _order = new();

    /// <summary>The offset the publication with <paramref name="key"/> took, if it was used within the window.</summary>
    public bool TryGet(string key, DateTimeOffset now, out ulong offset)
    {
        Expire(now);
        return _offsets.TryGetValue(key, out offset);
    }

    /// <summary>Remembers that the publication with <paramref name="key"/> took <paramref name="offset"/>.</summary>
    public void Remember(string key, ulong offset, DateTimeOffset now)
    {
        if (capacity == 0 || window <= TimeSpan.Zero)
        {
            return;
        }

        while (_order.Count >= capacity)
        {
            _offsets.Remove(_order.Dequeue().Key);
        }

        _offsets[key] = offset;
        _order.Enqueue((key, now));
    }

    private void Expire(DateTimeOffset now)
    {
        while (_order.TryPeek(out var oldest) && now - oldest.At >= window)
        {
            _offsets.Remove(_order.Dequeue().Key);
        }
    }
}
