using System.Text.Json;
using Switchboard.Metrics;
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

    /// <summary>The same checks for a node that has stopped listening: its state and its exporter, read in-process.</summary>
    public static async Task AssertNothingRemainsAfterStopAsync(this TestServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        await WaitUntilEmptyAsync(server);
        Assert.Equal(0, server.Hub.RoomCount);
        Assert.Equal(0, server.Hub.UserCount);
        var metrics = MetricsScrape.Parse(((SwitchboardMetrics)server.Services.GetService(typeof(SwitchboardMetrics))!).Exporter.Render());
        Assert.Equal(0, metrics["switchboard_connections"]);
        Assert.Equal(0, metrics["switchboard_rooms"]);
    }

    public static async Task WaitUntilEmptyAsync(this TestServer server, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        await server.Registry.WaitUntilEmptyAsync(deadline.Token);
    }
}
