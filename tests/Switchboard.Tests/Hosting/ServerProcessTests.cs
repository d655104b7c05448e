using System.Net.WebSockets;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

[Trait("Category", "integration")]
public sealed class ServerProcessTests
{
    [Fact]
    public async Task SigtermClosesClientsWithGoingAwayAndExitsZero()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Switchboard__Shutdown__DrainSeconds"] = "5",
            ["Switchboard__Auth__AllowAnonymous"] = "true",
            ["Switchboard__Rooms__AllowAll"] = "true",
        });
        var address = await server.WaitForListeningAsync();
        var ws = new Uri("ws://" + address.Authority + "/ws");
        await using var first = await ProtocolClient.ConnectAsync(ws);
        await using var second = await ProtocolClient.ConnectAsync(ws);
        await first.ExpectAsync("welcome");
        await second.ExpectAsync("welcome");
        Assert.Equal("reply", (await first.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());

        server.Terminate();

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await first.WaitForCloseAsync());
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await second.WaitForCloseAsync());
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Draining 2 connections", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheShippedHostHonoursUrlsAndServesTheDemoAndTheDashboard()
    {
        await using var server = ServerProcess.Start();
        var address = await server.WaitForListeningAsync();
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("127.0.0.1", address.Host);
        Assert.Contains("<title>Switchboard demo chat</title>", await http.GetStringAsync(""), StringComparison.Ordinal);
        Assert.Contains("<title>Switchboard dashboard</title>", await http.GetStringAsync("dashboard"), StringComparison.Ordinal);
        Assert.Equal("{\"status\":\"ok\"}", await http.GetStringAsync("healthz"));
    }
}
