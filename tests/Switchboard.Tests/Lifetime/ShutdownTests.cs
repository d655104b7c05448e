using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>
/// Graceful shutdown: new upgrades are refused and <c>/readyz</c> says so, every connection flushes
/// its queue and is closed with 1001, and whoever does not finish the close in time is aborted.
/// </summary>
[Trait("Category", "integration")]
public sealed class ShutdownTests
{
    [Fact]
    public async Task StopClosesEveryClientWithGoingAway()
    {
        await using var server = await TestServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");
        await using var plain = await ProtocolClient.ConnectAsync(server.Ws("rooms/chat"));
        await using var echo = await ProtocolClient.ConnectAsync(server.Ws("echo"));
        await Eventually.TrueAsync(() => server.Registry.Count == 4, "all four connections are registered");

        await server.StopAsync();

        foreach (var client in new[] { alice, bob, plain, echo })
        {
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await client.WaitForCloseAsync());
        }

        Assert.True(CloseCodes.ShouldReconnect(CloseCodes.GoingAway));
        await server.AssertNothingRemainsAfterStopAsync();
    }

    [Fact]
    public async Task MessagesQueuedBeforeTheStopArriveBeforeTheClose()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainSeconds"] = "30" });
        using var smallWindow = ManualWebSocket.SmallWindowInvoker(receiveBufferBytes: 4096);
        using var member = await ManualWebSocket.ConnectAsync(server.Ws("ws?user=member"), smallWindow);
        await member.SendTextAsync("""{"op":"join","room":"backlog","id":1}""");
        await member.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));

        // The member does not read, so once its TCP window and the server's send buffer are full,
        // publications wait in its outbound queue.
        var padding = new string('x', 16 * 1024);
        var published = 0;
        while (QueuedMessages(server) < 20)
        {
            Assert.True(published < 1000, "publications never started to queue up");
            published++;
            using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "backlog", data = new { n = published, pad = padding } });
            response.EnsureSuccessStatusCode();
        }

        var stop = server.StopAsync();
        await Eventually.TrueAsync(() => server.Services.GetRequiredService<ShutdownState>().IsDraining, "the drain has begun");

        var offsets = new List<ulong>();
        var status = await member.ReadUntilClosedAsync(line =>
        {
            using var message = JsonDocument.Parse(line);
            if (message.RootElement.GetProperty("op").GetString() == "message")
            {
                offsets.Add(message.RootElement.GetProperty("offset").GetUInt64());
            }
        });

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        Assert.Equal(Enumerable.Range(1, published).Select(i => (ulong)i), offsets);
        await stop;
        await server.AssertNothingRemainsAfterStopAsync();
    }

    [Fact]
    public async Task WhileDrainingHealthChecksAndNewUpgradesAreTurnedAway()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainSeconds"] = "30" });
        // Holds the drain open until it reads and answers its close frame, which it does last.
        using var lingering = await ManualWebSocket.ConnectAsync(server.Ws("ws?user=lingering"));
        await lingering.ReadLineAsync(line => line.Contains("\"welcome\"", StringComparison.Ordinal));
        using (var ready = await server.Http.GetAsync(new Uri("readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var stop = server.StopAsync();
        Assert.True(server.Services.GetRequiredService<ShutdownState>().IsDraining, "the drain begins as the host starts stopping");

        // Kestrel stops listening while the drain runs, so a request on a new connection is refused
        // outright; one that still reaches the app gets 503. Either way, never a ready answer.
        try
        {
            using var draining = await server.Http.GetAsync(new Uri("readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, draining.StatusCode);
            using var body = JsonDocument.Parse(await draining.Content.ReadAsStringAsync());
            Assert.Equal("draining", body.RootElement.GetProperty("status").GetString());
        }
        catch (HttpRequestException refused) when (refused.HttpRequestError == HttpRequestError.ConnectionError)
        {
            // Refused at the TCP level: turned away, as it should be.
        }

        using var latecomer = new ClientWebSocket();
        latecomer.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        await Assert.ThrowsAsync<WebSocketException>(() => latecomer.ConnectAsync(server.Ws("ws?user=latecomer"), timeout.Token));
        Assert.Contains(latecomer.HttpStatusCode, new[] { HttpStatusCode.ServiceUnavailable, default });
        Assert.Equal(1, server.Registry.Count);

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await lingering.ReadUntilClosedAsync(_ => { }));
        await stop;
        await server.AssertNothingRemainsAfterStopAsync();
    }

    [Fact]
    public async Task ClientThatIgnoresTheCloseIsAbortedAfterTheDrainTimeAndStopCompletes()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainSeconds"] = "1" });
        await using var polite = await server.ConnectAsync("polite");
        using var deaf = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws?user=deaf");
        await deaf.SendTextAsync("""{"op":"join","room":"lobby","id":1}""");
        await deaf.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));

        var watch = Stopwatch.StartNew();
        await server.StopAsync();

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"stop waited {watch.Elapsed} for the deaf peer, less than the drain time");
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await polite.WaitForCloseAsync());
        // The close frame went out, but the peer never answered it: the server then dropped the connection.
        Assert.Equal(CloseCodes.GoingAway, await deaf.ReadUntilCloseFrameAsync());
        Assert.True(await deaf.ReadUntilDisconnectedAsync(), "the server dropped the deaf peer's TCP connection");
        await server.AssertNothingRemainsAfterStopAsync();
    }

    private static int QueuedMessages(TestServer server) => server.Registry.Snapshot().Sum(c => c.QueuedMessages);
}
