using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The demo page loses its node and comes back: it says it is reconnecting, then shows every message
/// published meanwhile, in order, once. On Redis, so a room's stream outlives any one node.
/// </summary>
[Collection(BrowserGroup.Name)]
[Trait("Category", "external")]
public sealed class ReconnectTests(ChromiumFixture chromium, ITestOutputHelper output)
{
    private const int Before = 3;
    private const int Meanwhile = 10;

    [Fact]
    public async Task AfterItsServerRestartsThePageShowsEveryMessagePublishedMeanwhileInOrderOnce()
    {
        var shots = new Screenshots(output, nameof(AfterItsServerRestartsThePageShowsEveryMessagePublishedMeanwhileInOrderOnce));
        await using var redis = await RedisServer.StartAsync();
        var environment = RedisNodes.Environment(redis);
        // Alice's node listens on a fixed port, so that it comes back where her page reconnects to.
        await using var node = await HostNode.StartAsync(environment, FreePorts.Next());
        await using var other = await HostNode.StartAsync(environment);
        var room = "restart-" + Guid.NewGuid().ToString("N")[..6];
        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", room, output);
        await using var bob = await ChatPage.OpenAsync(chromium.Browser, other.BaseUri, "bob", room, output);
        await Expect(alice.Members).ToHaveTextAsync(["alice", "bob"]);

        var expected = new List<string>();
        for (var i = 1; i <= Before; i++)
        {
            await node.PublishAsync(room, $"before {i}");
            expected.Add($"before {i}");
        }

        await Expect(alice.Texts).ToHaveTextAsync(expected);
        await shots.TakeAsync(alice.Page, "before-restart");

        await node.StopAsync();
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(alice.State).ToContainTextAsync("reconnecting");
        await shots.TakeAsync(alice.Page, "reconnecting");

        // Published on the other node while alice's is down: bob sees them live.
        for (var i = 1; i <= Meanwhile; i++)
        {
            await other.PublishAsync(room, $"meanwhile {i}");
            expected.Add($"meanwhile {i}");
        }

        await Expect(bob.Texts).ToHaveTextAsync(expected);
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "reconnecting");

        await node.RestartAsync();
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        // Every message once, in order: the list is compared whole.
        await Expect(alice.Texts).ToHaveTextAsync(expected);
        await Expect(alice.State).ToHaveAttributeAsync("data-recovered", Meanwhile.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(alice.State).ToContainTextAsync($"recovered {Meanwhile} messages");
        await shots.TakeAsync(alice.Page, "recovered");

        // And the page is live again, both ways.
        await alice.SendAsync("back again");
        expected.Add("back again");
        await Expect(bob.Texts).ToHaveTextAsync(expected);
        await Expect(alice.Texts).ToHaveTextAsync(expected);
        await shots.TakeAsync(alice.Page, "live-again");
    }

    [Fact]
    public async Task WhenItsNodeIsKilledThePageReconnectsThroughNginxToAnotherAndShowsEveryMessageInOrderOnce()
    {
        var shots = new Screenshots(output, nameof(WhenItsNodeIsKilledThePageReconnectsThroughNginxToAnotherAndShowsEveryMessageInOrderOnce));
        await using var redis = await RedisServer.StartAsync();
        var environment = RedisNodes.Environment(redis);
        var nodes = new List<HostNode>();
        try
        {
            // Started one after another: three .NET start-ups at once on a shared 2-core machine are slow.
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await HostNode.StartAsync(environment));
            }

            await using var nginx = await NginxServer.StartAsync(nodes.Select(n => n.BaseUri));
            var room = "failover-" + Guid.NewGuid().ToString("N")[..6];
            await using var alice = await ChatPage.OpenAsync(chromium.Browser, nginx.BaseUri, "alice", room, output);
            var victim = await NodeOfAsync(nodes, room);
            output.WriteLine($"alice's page is on node {victim} of 3");

            var expected = new List<string>();
            for (var i = 1; i <= Before; i++)
            {
                await HostNode.PublishAsync(nginx.Http, room, $"before {i}");
                expected.Add($"before {i}");
            }

            await Expect(alice.Texts).ToHaveTextAsync(expected);
            await shots.TakeAsync(alice.Page, "before-kill");

            // The dashboard, through nginx too, lists the three nodes sharing Redis.
            var dashboard = await alice.Page.Context.NewPageAsync();
            await dashboard.GotoAsync(new Uri(nginx.BaseUri, "dashboard").ToString());
            await Expect(dashboard.Locator("#nodes tr")).ToHaveCountAsync(3);
            await Expect(dashboard.Locator("#nodes-scope")).ToContainTextAsync("3 live nodes");
            await shots.TakeAsync(dashboard, "dashboard-three-nodes");

            await nodes[victim].KillAsync();
            for (var i = 1; i <= Meanwhile; i++)
            {
                await HostNode.PublishAsync(nginx.Http, room, $"meanwhile {i}");
                expected.Add($"meanwhile {i}");
            }

            // The outage is counted even if the reconnect was quicker than any look at the page.
            await Expect(alice.State).ToHaveAttributeAsync("data-outages", "1", new() { Timeout = 45_000 });
            await Expect(alice.State).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
            await Expect(alice.Texts).ToHaveTextAsync(expected);
            await shots.TakeAsync(alice.Page, "recovered-elsewhere");
            // The killed node stops reporting: the dashboard drops it within the report lifetime (5 s).
            await Expect(dashboard.Locator("#nodes tr")).ToHaveCountAsync(2, new() { Timeout = 30_000 });
            await shots.TakeAsync(dashboard, "dashboard-two-nodes");

            var now = await NodeOfAsync(nodes, room, except: victim);
            output.WriteLine($"alice's page reconnected through nginx to node {now}");
            await HostNode.PublishAsync(nginx.Http, room, "after");
            expected.Add("after");
            await Expect(alice.Texts).ToHaveTextAsync(expected);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task WhenARestartLosesTheRoomThePageSaysSoAndGoesOnWithTheNewStream()
    {
        var shots = new Screenshots(output, nameof(WhenARestartLosesTheRoomThePageSaysSoAndGoesOnWithTheNewStream));
        // The memory broker: a restarted node has forgotten every room (a new epoch, offsets from 1).
        await using var node = await HostNode.StartAsync(port: FreePorts.Next());
        var room = "forgotten-" + Guid.NewGuid().ToString("N")[..6];
        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", room, output);
        await node.PublishAsync(room, "old 1");
        await node.PublishAsync(room, "old 2");
        await Expect(alice.Texts).ToHaveTextAsync(["old 1", "old 2"]);

        await node.StopAsync();
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "reconnecting");
        await node.RestartAsync();
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 45_000 });
        await Expect(alice.Notice).ToContainTextAsync("could not be recovered");

        // The new stream starts again at offset 1; the old messages stay above a line.
        await node.PublishAsync(room, "new 1");
        await Expect(alice.Texts).ToHaveTextAsync(["old 1", "old 2", "new 1"]);
        await Expect(alice.Page.Locator("#messages li.gap")).ToHaveCountAsync(1);
        await Expect(alice.Page.Locator("#messages li[data-offset]")).ToHaveCountAsync(1);
        await shots.TakeAsync(alice.Page, "reset");
    }

    /// <summary>The index of the node that has members in <paramref name="room"/> (only the page is in it).</summary>
    private static async Task<int> NodeOfAsync(List<HostNode> nodes, string room, int? except = null)
    {
        // Membership is server state that no event announces to the test: asked again until a node has it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                if (i == except)
                {
                    continue;
                }

                var rooms = await nodes[i].Http.GetFromJsonAsync<JsonElement>("api/rooms");
                if (rooms.GetProperty("rooms").EnumerateArray().Any(r => r.GetProperty("room").GetString() == room))
                {
                    return i;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"no node has a member in {room}");
            }

            // Polling interval, not a wait for an event.
            await Task.Delay(50);
        }
    }
}
