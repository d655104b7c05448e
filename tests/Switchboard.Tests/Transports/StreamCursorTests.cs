using System.Text;
using Switchboard.Protocol;
using Switchboard.Transports;
using Xunit;

namespace Switchboard.Tests.Transports;

/// <summary>The event ids of a server-sent-events stream: built from the events written, read back from <c>Last-Event-ID</c>.</summary>
[Trait("Category", "unit")]
public sealed class StreamCursorTests
{
    [Fact]
    public void AStreamWithoutRoomsIsAtZero()
    {
        var cursor = StreamCursor.Parse(null, 128);
        cursor.Observe(ServerMessages.Welcome("s", "alice", 25));

        Assert.Equal("0", Id(cursor));
    }

    [Fact]
    public void AJoinReplyEntersTheRoomMessagesMoveItAndALeaveReplyOrRemovedDropsIt()
    {
        var cursor = StreamCursor.Parse(null, 128);
        cursor.Observe(ServerMessages.StreamReply("1"u8, new StreamPosition(41, "e1"), null, null, "lobby"));
        cursor.Observe(ServerMessages.StreamReply("2"u8, new StreamPosition(7, "e2"), null, null, "news"));
        cursor.Observe(ServerMessages.Message("lobby", "bob", 42, "1"u8, binary: false));
        Assert.Equal("lobby~e1~42,news~e2~7", Id(cursor));

        cursor.Observe(ServerMessages.LeaveReply("3"u8, "lobby"));
        Assert.Equal("news~e2~7", Id(cursor));
        cursor.Observe(ServerMessages.Removed("news", ErrorCodes.Forbidden, "gone"));
        Assert.Equal("0", Id(cursor));
    }

    [Fact]
    public void ALostStreamsRemovedDropsTheRoomAndTheReJoinEntersItAtTheNewEpoch()
    {
        var cursor = StreamCursor.Parse("lobby~e1~5,news~e2~7", 128);
        cursor.Observe(ServerMessages.Removed("lobby", ErrorCodes.StreamLost, "lost", rejoin: true));
        Assert.Equal("news~e2~7", Id(cursor));

        cursor.Observe(ServerMessages.StreamReply("9"u8, new StreamPosition(1, "e3"), false, [], "lobby"));
        Assert.Equal(["lobby~e3~1", "news~e2~7"], Id(cursor).Split(',').Order(StringComparer.Ordinal));
    }

    [Fact]
    public void WhatDoesNotMoveTheStreamLeavesTheIdAlone()
    {
        var cursor = StreamCursor.Parse("lobby~e1~5", 128);
        cursor.Observe(ServerMessages.Message("elsewhere", "bob", 9, "1"u8, binary: false));
        cursor.Observe(ServerMessages.PresenceReply("4"u8, "lobby", [new("bob", 1)]));
        cursor.Observe(ServerMessages.StreamReply("5"u8, new StreamPosition(99, "e1"), null, null));
        cursor.Observe(ServerMessages.Message("lobby", "bob", 4, "1"u8, binary: false));

        Assert.Equal("lobby~e1~5", Id(cursor));
    }

    [Fact]
    public void AResumedRoomThatIsRefusedIsForgotten()
    {
        var cursor = StreamCursor.Parse("lobby~e1~5,news~e2~1", 128);
        cursor.Observe(ServerMessages.Error("\"resume:lobby\""u8, ErrorCodes.Forbidden, "no"));

        Assert.Equal("news~e2~1", Id(cursor));
    }

    [Fact]
    public void LastEventIdRoundTripsIntoResumeJoins()
    {
        var cursor = StreamCursor.Parse("lobby~8f1d~41,a:b@c~e2~0", 128);

        Assert.Equal(["lobby", "a:b@c"], cursor.Rooms.Select(r => r.Key));
        Assert.Equal("""{"op":"join","room":"lobby","since":{"offset":41,"epoch":"8f1d"},"id":"resume:lobby"}""",
            Encoding.UTF8.GetString(StreamCursor.ResumeJoin("lobby", "8f1d", 41)));
    }

    [Theory]
    [InlineData("lobby~e1")]
    [InlineData("lobby~e1~x")]
    [InlineData("bad room~e1~1")]
    [InlineData("lobby~e,1~1")]
    [InlineData("a~e~1,b~e~2,c~e~3")]
    public void AMalformedOrOversizedLastEventIdIsIgnoredAsAWhole(string lastEventId)
    {
        Assert.Empty(StreamCursor.Parse(lastEventId, maxRooms: 2).Rooms);
    }

    private static string Id(StreamCursor cursor) => Encoding.ASCII.GetString(cursor.Id);
}
