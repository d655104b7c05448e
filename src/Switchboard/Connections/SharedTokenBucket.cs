namespace Switchboard.Connections;

/// <summary>
/// A <see cref="TokenBucket"/> that several receive loops take from at once: all the connections of one
/// user on this node. A lock around two numbers, taken once per publish.
/// </summary>
internal sealed class SharedTokenBucket(double perSecond, int burst)
{
    private readonly Lock _lock = new();
    private TokenBucket _bucket = new(perSecond, burst);

    /// <summary>Takes one token if there is one.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            return _bucket.TryTake();
        }
    }
}
