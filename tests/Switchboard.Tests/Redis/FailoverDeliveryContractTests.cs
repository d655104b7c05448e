using System.Net.WebSockets;
using System.Text.Json;
using Xunit;
using Xunit.Sdk;
using Ack = Switchboard.Tests.Redis.ApiPublisher.Acknowledgement;

namespace Switchboard.Tests.Redis;

/// <summary>
/// The failover tests' check, held to what it must accept and refuse: a failover that loses nothing, a
/// loss members were told of, and the silent losses the epoch rotation exists to prevent.
/// </summary>
[Trait("Category", "unit")]
public sealed class FailoverDeliveryContractTests
{
    private static readonly HashSet<int> NoneRefused = [];

    [Fact]
    public void MembersHoldingEveryAcknowledgedPublicationOnceInOrderPass()
    {
        var acks = Acks("e0", 1, 2, 3);
        var toldOf = FailoverDeliveryContract.AssertHolds(acks, NoneRefused, Members(("m", [Segment("e0", 0, null, false, 1, 2, 3)])), ("e0", 3));
        Assert.Equal(0, toldOf["m"]);
    }

    [Fact]
    public void AnAcknowledgedPublicationLostWithTheOldMasterPassesWhenTheMemberWasToldAndHoldsTheNewEpoch()
    {
        // Offset 3 of e0 was acknowledged (data 3), lost with the master, and handed out again (data 4):
        // the epoch rotated, the member was told and rejoined into e1.
        Ack[] acks = [.. Acks("e0", 1, 2, 3), new("e0", 3, 4), new("e1", 1, 5), new("e1", 2, 6)];
        var toldOf = FailoverDeliveryContract.AssertHolds(acks, NoneRefused,
            Members(("m", [Segment("e0", 0, null, true, 1, 2, 3), Segment("e1", 0, false, false, 5, 6)])), ("e1", 2));
        Assert.Equal(1, toldOf["m"]);
    }

    [Fact]
    public void AnAcknowledgedPublicationDisplacedWithoutTellingTheMemberFails()
    {
        // What the branch's first test allowed: a refused publication the old master delivered sits
        // where the new master put an acknowledged one, and the member was never told.
        var acks = new Ack[] { new("e0", 1, 1), new("e0", 2, 3) };
        Fails("m neither holds publication 3, acknowledged at offset 2 of epoch e0, nor was told",
            () => FailoverDeliveryContract.AssertHolds(acks, new HashSet<int> { 2 }, Members(("m", [Segment("e0", 0, null, false, 1, 2)])), ("e0", 2)));
    }

    [Fact]
    public void AnOffsetAcknowledgedTwiceUnderOneEpochFailsUnlessTheMemberWasTold()
    {
        var acks = new Ack[] { new("e0", 1, 1), new("e0", 1, 2) };
        Fails("m neither holds publication 2, acknowledged at offset 1 of epoch e0, nor was told",
            () => FailoverDeliveryContract.AssertHolds(acks, NoneRefused, Members(("m", [Segment("e0", 0, null, false, 1)])), ("e0", 1)));
    }

    [Fact]
    public void AMemberThatMissesTheTailOfAnEpochWithoutBeingToldFails()
    {
        var acks = Acks("e0", 1, 2, 3);
        Fails("m left epoch e0 only after it was told",
            () => FailoverDeliveryContract.AssertHolds(acks, NoneRefused, Members(("m", [Segment("e0", 0, null, false, 1, 2), Segment("e1", 0, false, false)])), ("e1", 0)));
    }

    [Fact]
    public void AnOffsetHeldTwiceFails()
    {
        var acks = Acks("e0", 1, 2);
        var twice = Segment("e0", 0, null, false, 1, 2);
        twice.Add(2, 2);
        Fails("m holds offsets 1 onwards of epoch e0 once each, in order",
            () => FailoverDeliveryContract.AssertHolds(acks, NoneRefused, Members(("m", [twice])), ("e0", 2)));
    }

    [Fact]
    public void AMemberPutIntoANewEpochPartWayFails()
    {
        Ack[] acks = [.. Acks("e0", 1), new("e1", 1, 2), new("e1", 2, 3)];
        var rejoined = new MemberSegment("e1", 1, false);
        rejoined.Add(2, 3);
        Fails("m's rejoin continued where it was told, or put it at the start of a later epoch",
            () => FailoverDeliveryContract.AssertHolds(acks, NoneRefused, Members(("m", [Segment("e0", 0, null, true, 1), rejoined])), ("e1", 2)));
    }

    [Fact]
    public void AClose4002AndARemovedStreamLostMessageBothTellTheMember()
    {
        Assert.True(StreamLostSignal.Tells("feed", null, (WebSocketCloseStatus)4002));
        Assert.True(StreamLostSignal.Tells("feed", Json("""{"op":"removed","room":"feed","code":"stream_lost","rejoin":true}"""), null));
        Assert.False(StreamLostSignal.Tells("feed", null, (WebSocketCloseStatus)4000));
        Assert.False(StreamLostSignal.Tells("feed", Json("""{"op":"removed","room":"other","code":"stream_lost","rejoin":true}"""), null));
        Assert.False(StreamLostSignal.Tells("feed", Json("""{"op":"removed","room":"feed","code":"kicked","rejoin":false}"""), null));
        Assert.False(StreamLostSignal.Tells("feed", Json("""{"op":"message","room":"feed","offset":1,"data":1}"""), null));
    }

    /// <summary>Asserts that the check refuses, for the reason that starts with <paramref name="reason"/>.</summary>
    private static void Fails(string reason, Action check) =>
        Assert.StartsWith(reason, Assert.Throws<TrueException>(check).Message, StringComparison.Ordinal);

    /// <summary>Publications acknowledged at offsets 1, 2, ... of <paramref name="epoch"/>, each with its offset as data.</summary>
    private static Ack[] Acks(string epoch, params int[] offsets) => [.. offsets.Select(o => new Ack(epoch, (ulong)o, o))];

    /// <summary>A segment holding data <paramref name="data"/> at the offsets after <paramref name="joinedAt"/>.</summary>
    private static MemberSegment Segment(string epoch, ulong joinedAt, bool? recovered, bool told, params int[] data)
    {
        var segment = new MemberSegment(epoch, joinedAt, recovered);
        for (var i = 0; i < data.Length; i++)
        {
            segment.Add(joinedAt + (ulong)i + 1, data[i]);
        }

        if (told)
        {
            segment.MarkTold();
        }

        return segment;
    }

    private static Dictionary<string, IReadOnlyList<MemberSegment>> Members(params (string Name, MemberSegment[] Segments)[] members) =>
        members.ToDictionary(m => m.Name, m => (IReadOnlyList<MemberSegment>)m.Segments);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
