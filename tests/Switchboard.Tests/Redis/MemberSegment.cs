namespace Switchboard.Tests.Redis;

/// <summary>
/// What a member held of one epoch between a join (or a rejoin) and the next time it was told the
/// stream was lost: the position it joined at and every publication after it, in arrival order.
/// </summary>
internal sealed class MemberSegment(string epoch, ulong joinedAt, bool? recovered)
{
    private readonly List<(ulong Offset, int Data)> _held = [];

    public string Epoch { get; } = epoch;

    /// <summary>The offset the join put the member at; it holds what followed.</summary>
    public ulong JoinedAt { get; } = joinedAt;

    /// <summary>The rejoin's <c>recovered</c>; null for the first join.</summary>
    public bool? Recovered { get; } = recovered;

    /// <summary>Publications in arrival order.</summary>
    public IReadOnlyList<(ulong Offset, int Data)> Held => _held;

    /// <summary>Whether the member was told, at the end of this segment, that the stream was lost.</summary>
    public bool Told { get; private set; }

    /// <summary>The last offset the member holds of this epoch (where it joined, before anything arrived).</summary>
    public ulong Last => _held.Count > 0 ? _held[^1].Offset : JoinedAt;

    public void Add(ulong offset, int data) => _held.Add((offset, data));

    public void MarkTold() => Told = true;

    public MemberSegment Copy()
    {
        var copy = new MemberSegment(Epoch, JoinedAt, Recovered) { Told = Told };
        copy._held.AddRange(_held);
        return copy;
    }

    public override string ToString() =>
        $"epoch {Epoch} from {JoinedAt}{(Recovered is { } r ? $" (rejoined, recovered:{r.ToString().ToLowerInvariant()})" : "")}: {_held.Count} held, "
        + $"{(_held.Count > 0 ? $"{_held[0].Offset}..{_held[^1].Offset}" : "none")}{(Told ? ", then told" : "")}";
}
