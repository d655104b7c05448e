namespace Switchboard.Brokers;

/// <summary>
/// One room's idempotency keys in the in-memory broker: which offset each key's publication took, for
/// <c>History:IdempotencyWindowSeconds</c> and at most <c>History:IdempotencyKeysPerRoom</c> keys
/// (the oldest forgotten first), so that a publisher retrying after a lost reply appends nothing.
/// Guarded by the room stream's lock.
/// </summary>
internal sealed class RecentPublishKeys(TimeSpan window, int capacity)
{
    // Both created by the first key: most rooms never see one, and every room on the node has this.
    private Dictionary<string, ulong>? _offsets;
    // Keys in the order they were first used, which is also the order they expire in.
    private Queue<(string Key, DateTimeOffset At)>? _order;

    /// <summary>The offset the publication with <paramref name="key"/> took, if it was used within the window.</summary>
    public bool TryGet(string key, DateTimeOffset now, out ulong offset)
    {
        Expire(now);
        offset = 0;
        return _offsets?.TryGetValue(key, out offset) == true;
    }

    /// <summary>Remembers that the publication with <paramref name="key"/> took <paramref name="offset"/>.</summary>
    public void Remember(string key, ulong offset, DateTimeOffset now)
    {
        if (capacity == 0 || window <= TimeSpan.Zero)
        {
            return;
        }

        _offsets ??= new(StringComparer.Ordinal);
        _order ??= new();
        while (_order.Count >= capacity)
        {
            _offsets.Remove(_order.Dequeue().Key);
        }

        _offsets[key] = offset;
        _order.Enqueue((key, now));
    }

    private void Expire(DateTimeOffset now)
    {
        if (_order is null || _offsets is null)
        {
            return;
        }

        while (_order.TryPeek(out var oldest) && now - oldest.At >= window)
        {
            _offsets.Remove(_order.Dequeue().Key);
        }
    }
}
