namespace Switchboard.Client;

/// <summary>Computes full-jitter exponential delays from <see cref="BackoffOptions"/>.</summary>
internal sealed class ReconnectBackoff(BackoffOptions options, Random random)
{
    /// <summary>The ceiling of attempt <paramref name="attempt"/> (1-based): min(cap, base * 2^(attempt-1)).</summary>
    public TimeSpan Ceiling(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        // Doubling past 2^30 only overflows; the cap has long been reached by then.
        var exponent = Math.Min(attempt - 1, 30);
        var ceiling = options.Base.TotalMilliseconds * Math.Pow(2, exponent);
        return TimeSpan.FromMilliseconds(Math.Min(ceiling, options.Cap.TotalMilliseconds));
    }

    /// <summary>A uniformly random delay in [0, <see cref="Ceiling"/>).</summary>
    public TimeSpan Delay(int attempt)
    {
        double sample;
        lock (random)
        {
            // Random is not thread-safe; a shared instance may be injected.
            sample = random.NextDouble();
        }

        return TimeSpan.FromMilliseconds(sample * Ceiling(attempt).TotalMilliseconds);
    }
}
