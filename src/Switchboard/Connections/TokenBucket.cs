using System.Diagnostics;

namespace Switchboard.Connections;

/// <summary>
/// A token bucket for one connection's own receive loop (never shared, so no synchronisation). The
/// framework's <c>TokenBucketRateLimiter</c> would cost a timer and a queue per connection; this is
/// two numbers, refilled lazily from the clock when a token is asked for.
/// </summary>
internal struct TokenBucket
{
    private readonly double _perSecond;
    private readonly double _burst;
    private double _tokens;
    private long _lastRefill;

    public TokenBucket(double perSecond, int burst)
    {
        _perSecond = perSecond;
        _burst = burst;
        _tokens = burst;
        _lastRefill = Stopwatch.GetTimestamp();
    }

    /// <summary>Takes one token if there is one.</summary>
    public bool TryTake()
    {
        Refill();
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }

    /// <summary>
    /// Whether anything is left (the bucket may be in debt after <see cref="Charge"/>). For costs known
    /// only afterwards, such as the size of a reply: admit while there is credit, then charge.
    /// </summary>
    public bool HasCredit()
    {
        Refill();
        return _tokens > 0;
    }

    /// <summary>Takes <paramref name="amount"/> tokens, going into debt if there are not that many.</summary>
    public void Charge(double amount) => _tokens -= amount;

    private void Refill()
    {
        var now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + (Stopwatch.GetElapsedTime(_lastRefill, now).TotalSeconds * _perSecond));
        _lastRefill = now;
    }
}
