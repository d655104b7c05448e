namespace Switchboard.Client;

/// <summary>
/// Reconnect delays: exponential with full jitter. Attempt n waits a uniformly random time between 0
/// and min(<see cref="Cap"/>, <see cref="Base"/> * 2^(n-1)), so that thousands of clients cut off by
/// one node's restart do not come back in lock-step.
/// </summary>
public sealed class BackoffOptions
{
    /// <summary>The ceiling of the first attempt's delay.</summary>
    public TimeSpan Base { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The largest ceiling any attempt's delay can have.</summary>
    public TimeSpan Cap { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection that lasted this long counts as stable: the next drop starts again from attempt 1.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(10);
}
