using Switchboard.Connections;
using Switchboard.Hub;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A room's members and per-user counts, which hold a single member in one field and create the set
/// and the counts when a second arrives: the counts, the presence list and the fan-out snapshot must
/// read the same on either side of that change.
/// </summary>
[Trait("Category", "unit")]
public sealed class RoomMembersTests : IAsyncDisposable
{
    private readonly InProcessNode _node = new(new ScriptedBroker());

    [Fact]
    public void ALoneMemberIsOneUserWithOneConnection()
    {
        var members = new RoomMembers();
        var alice = Member("alice");

        Assert.True(members.Add(alice));

        Assert.Equal(1, members.Count);
        Assert.Equal(1, members.UserCount);
        Assert.Equal([alice], members.ToArray());
        Assert.Equal([new KeyValuePair<string, int>("alice", 1)], members.Presence());
    }

    [Fact]
    public void ASecondConnectionOfTheLoneMembersUserIsNotItsFirstAndItsLastLeavesLast()
    {
        var members = new RoomMembers();
        var phone = Member("alice");
        var laptop = Member("alice");
        members.Add(phone);

        // The lone member's user is carried over into the counts created by the second arrival.
        Assert.False(members.Add(laptop));
        Assert.Equal(1, members.UserCount);
        Assert.Equal([new KeyValuePair<string, int>("alice", 2)], members.Presence());

        Assert.True(members.Remove(phone, out var lastOfUser));
        Assert.False(lastOfUser);
        Assert.True(members.Remove(laptop, out lastOfUser));
        Assert.True(lastOfUser);
        Assert.Equal(0, members.Count);
        Assert.Empty(members.Presence());
    }

    [Fact]
    public void AfterTwoUsersAndOneLeavingTheOtherIsTheOnlyMember()
    {
        var members = new RoomMembers();
        var alice = Member("alice");
        var bob = Member("bob");
        members.Add(alice);
        Assert.True(members.Add(bob));

        Assert.True(members.Remove(alice, out var lastOfUser));

        Assert.True(lastOfUser);
        Assert.Equal(1, members.Count);
        Assert.Equal(1, members.UserCount);
        Assert.Equal([bob], members.ToArray());
        Assert.Equal([new KeyValuePair<string, int>("bob", 1)], members.Presence());
    }

    [Fact]
    public void RemovingSomebodyWhoIsNotAMemberChangesNothing()
    {
        var members = new RoomMembers();
        var alice = Member("alice");
        Assert.False(members.Remove(alice, out _));
        members.Add(alice);

        Assert.False(members.Remove(Member("alice"), out var lastOfUser));

        Assert.False(lastOfUser);
        Assert.Equal([alice], members.ToArray());
    }

    public ValueTask DisposeAsync() => _node.DisposeAsync();

    private RoomSubscription Member(string user) => new(_node.Open(user).Session, "lobby", maxHeld: 16);
}
