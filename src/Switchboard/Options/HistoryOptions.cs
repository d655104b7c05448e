namespace Switchboard.Options;

/// <summary>How much of each room's stream is kept for recovery and the history API.</summary>
public sealed class HistoryOptions
{
    /// <summary>Most publications kept per room; 0 keeps none (recovery then always reports <c>recovered:false</c> after a gap).</summary>
    public int Size { get; set; } = 100;

    /// <summary>
    /// How long a publication is kept. A room's stream (its offsets and epoch) is forgotten this long
    /// after its last publication once it has no members, so its next publication starts a new epoch.
    /// </summary>
    public double TtlSeconds { get; set; } = 300;
}
