using Xunit;

namespace Switchboard.Client.Tests.Unit;

[Trait("Category", "unit")]
public sealed class EventsUriTests
{
    [Theory]
    [InlineData("ws://127.0.0.1:5000/ws?user=alice", "http://127.0.0.1:5000/events?user=alice")]
    [InlineData("wss://chat.example.com/switchboard/ws", "https://chat.example.com/switchboard/events")]
    [InlineData("ws://example.com/ws", "http://example.com/events")]
    public void TheEventStreamIsBesideTheWebSocketOverHttpWithTheSameQuery(string webSocket, string events) =>
        Assert.Equal(new Uri(events), SwitchboardClient.EventsBeside(new Uri(webSocket)));
}
