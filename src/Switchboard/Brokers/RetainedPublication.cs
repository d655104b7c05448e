namespace Switchboard.Brokers;

/// <summary>
/// A publication in the memory broker's history: in its room's queue and in the node's
/// <see cref="HistoryLedger"/>, which links every retained publication of the node, oldest first.
/// </summary>
internal sealed class RetainedPublication(Publication publication, MemoryRoomStream stream)
{
    public Publication Publication { get; } = publication;

    public MemoryRoomStream Stream { get; } = stream;

    /// <summary>What the budgets count it as, fixed for as long as it is retained.</summary>
    public long Bytes { get; } = publication.RetainedBytes;

    // The ledger's links, written under its lock (which is always taken inside the stream's lock).
    public RetainedPublication? Older { get; set; }

    public RetainedPublication? Newer { get; set; }

    /// <summary>Whether it is still in the ledger (and so in its room's queue). Read under the stream's lock.</summary>
    public bool Linked { get; set; }
}
