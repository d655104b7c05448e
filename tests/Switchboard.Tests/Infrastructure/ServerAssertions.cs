using System.Text.Json;
using Xunit;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Checks that a node holds nothing for connections that are gone.</summary>
public static class ServerAssertions
{
    /// <summary>
    /// Waits until the registry is empty, then asserts that no room, user, listed room or counted
    /// connection is left, through the hub, <c>/api/rooms</c> and <c>/metrics</c>.
    /// </summary>
    public static async Task AssertNothingRemainsAsync(this TestServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        await WaitUntilEmptyAsync(server);
        Assert.Equal(0, server.Hub.RoomCount);
        Assert.Equal(0, server.Hub.UserCount);
        using var rooms = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("api/rooms", UriKind.Relative)));
        Assert.Empty(rooms.RootElement.GetProperty("rooms").EnumerateArray());
        var metrics = await MetricsScrape.ReadAsync(server);
        Assert.Equal(0, metrics["switchboard_connections"]);
        Assert.Equal(0, metrics["switchboard_rooms"]);
        Assert.Equal(0, metrics["switchboard_queue_messages"]);
    }

    /// <summary>The same checks for a node that has stopped listening: its state and its gauges, read in-process.</summary>
    public static async Task AssertNothingRemainsAfterStopAsync(this TestServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        await WaitUntilEmptyAsync(server);
        Assert.Equal(0, server.Hub.RoomCount);
        Assert.Equal(0, server.Hub.UserCount);
        var gauges = NodeGauges.Read(server.Services);
        Assert.Equal(0, gauges["switchboard.connections"]);
        Assert.Equal(0, gauges["switchboard.rooms"]);
    }

    /// <summary>The users present in <paramref name="room"/>, sorted, as <c>/api/rooms/{room}/presence</c> reports them.</summary>
    public static async Task<string[]> PresentUsersAsync(this TestServer server, string room)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var presence = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri($"api/rooms/{room}/presence", UriKind.Relative)));
        return presence.RootElement.GetProperty("users").EnumerateObject().Select(u => u.Name).Order(StringComparer.Ordinal).ToArray();
    }

    public static async Task WaitUntilEmptyAsync(this TestServer server, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        await server.Registry.WaitUntilEmptyAsync(deadline.Token);
    }
}
