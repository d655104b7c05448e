using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// What a failover may do to a room's members (issue 10 item 6, docs/scaling.md "Sentinel"), checked
/// against every answer a publisher got and every publication each member held:
/// <list type="bullet">
/// <item>Within one epoch a member holds offsets once each, in order, without a gap, from where it
/// joined; an epoch it was put into by a rejoin it holds from its first offset.</item>
/// <item>A member leaves an epoch only after it was told the stream was lost (<see cref="StreamLostSignal"/>).</item>
/// <item>Every acknowledged publication is held by every member, with its data, at its epoch and
/// offset, or else the member was told: in that epoch, or by a rejoin that took it past that epoch.</item>
/// <item>An epoch the member was never told about (its last) holds exactly what was acknowledged
/// there, one publication per offset, and the same as every other member; an offset nobody
/// acknowledged holds a publication that was refused (it existed, its answer said otherwise).</item>
/// </list>
/// A publication refused with <c>unavailable</c> may be delivered or not: the publisher was told.
/// </summary>
internal static class FailoverDeliveryContract
{
    /// <param name="acknowledged">Every acknowledged publication, in the order of the answers.</param>
    /// <param name="refused">The data of every publication answered <c>unavailable</c>.</param>
    /// <param name="members">Each member's segments, oldest first.</param>
    /// <param name="top">The room's position once publishing stopped: every member must be there.</param>
    /// <returns>How many acknowledged publications a member was told of rather than held, per member.</returns>
    public static Dictionary<string, int> AssertHolds(IReadOnlyList<ApiPublisher.Acknowledgement> acknowledged, IReadOnlySet<int> refused,
        IReadOnlyDictionary<string, IReadOnlyList<MemberSegment>> members, (string Epoch, ulong Offset) top)
    {
        // Epochs in the order they came into use; one that never took a publication (a rotation after
        // the last) comes last.
        var epochs = acknowledged.Select(a => a.Epoch).Append(top.Epoch).Distinct().ToList();
        var byPosition = acknowledged.GroupBy(a => (a.Epoch, a.Offset)).ToDictionary(g => g.Key, g => g.Select(a => a.Data).ToHashSet());
        var toldOf = new Dictionary<string, int>();
        foreach (var (member, segments) in members)
        {
            var last = segments[^1];
            Assert.True(last.Epoch == top.Epoch && last.Last == top.Offset && !last.Told, $"{member} ends at the room's position {top}: {Describe(segments)}");
            Assert.True(segments[0].JoinedAt == 0 && segments[0].Epoch == epochs[0], $"{member} joined before the first publication: {Describe(segments)}");
            for (var i = 0; i < segments.Count; i++)
            {
                var segment = segments[i];
                Assert.True(segment.Held.Select(h => h.Offset).SequenceEqual(Enumerable.Range(1, segment.Held.Count).Select(n => segment.JoinedAt + (ulong)n)),
                    $"{member} holds offsets {segment.JoinedAt + 1} onwards of epoch {segment.Epoch} once each, in order: {string.Join(",", segment.Held.Select(h => h.Offset))}");
                if (i > 0)
                {
                    var before = segments[i - 1];
                    Assert.True(before.Told, $"{member} left epoch {before.Epoch} only after it was told: {Describe(segments)}");
                    var sameEpoch = segment.Epoch == before.Epoch;
                    Assert.True(sameEpoch ? segment.JoinedAt >= before.Last : segment.JoinedAt == 0 && epochs.IndexOf(segment.Epoch) > epochs.IndexOf(before.Epoch),
                        $"{member}'s rejoin continued where it was told, or put it at the start of a later epoch: {Describe(segments)}");
                }

                // Only what was published: acknowledged there, or refused (a refused publication may exist).
                // One in place of an acknowledged publication is caught below, as that one missing.
                foreach (var (offset, data) in segment.Held)
                {
                    var allowed = byPosition.GetValueOrDefault((segment.Epoch, offset)) ?? [];
                    Assert.True(allowed.Contains(data) || refused.Contains(data),
                        $"{member} holds publication {data} at offset {offset} of epoch {segment.Epoch}, where {(allowed.Count == 0 ? "nothing" : string.Join(" and ", allowed))} was acknowledged and it was not refused");
                }
            }

            var told = 0;
            foreach (var a in acknowledged)
            {
                var held = segments.Any(s => s.Epoch == a.Epoch && s.Held.Contains((a.Offset, a.Data)));
                if (!held)
                {
                    Assert.True(WasToldOf(segments, epochs, a.Epoch), $"{member} neither holds publication {a.Data}, acknowledged at offset {a.Offset} of epoch {a.Epoch}, nor was told: {Describe(segments)}");
                    told++;
                }
            }

            toldOf[member] = told;
        }

        // The last epoch, which nobody was told about: every member holds all of it, the same publications.
        var finals = members.ToDictionary(m => m.Key, m => m.Value.Where(s => s.Epoch == top.Epoch).SelectMany(s => s.Held).ToList());
        foreach (var (member, held) in finals)
        {
            Assert.True(held.Select(h => h.Offset).SequenceEqual(Enumerable.Range(1, (int)top.Offset).Select(n => (ulong)n)),
                $"{member} holds offsets 1 to {top.Offset} of the last epoch {top.Epoch} once each, in order: {string.Join(",", held.Select(h => h.Offset))}");
            Assert.Equal(finals.First().Value, held);
        }

        return toldOf;
    }

    /// <summary>Whether the member was told while in <paramref name="epoch"/>, or told in an earlier epoch and put by its rejoin into a later one.</summary>
    private static bool WasToldOf(IReadOnlyList<MemberSegment> segments, List<string> epochs, string epoch)
    {
        var index = epochs.IndexOf(epoch);
        for (var i = 0; i < segments.Count - 1; i++)
        {
            if (segments[i].Told && (segments[i].Epoch == epoch
                || (epochs.IndexOf(segments[i].Epoch) < index && epochs.IndexOf(segments[i + 1].Epoch) > index)))
            {
                return true;
            }
        }

        return false;
    }

    public static string Describe(IReadOnlyList<MemberSegment> segments) => string.Join("; ", segments);
}
