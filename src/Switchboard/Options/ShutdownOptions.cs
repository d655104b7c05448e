namespace Switchboard.Options;

/// <summary>Graceful shutdown behaviour.</summary>
public sealed class ShutdownOptions
{
    /// <summary>
    /// Seconds to wait, after asking every connection to close with 1001, for clients to finish the
    /// close handshake before the rest are aborted.
    /// </summary>
    public double DrainSeconds { get; set; } = 10;
}
