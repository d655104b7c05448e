using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis;
using Xunit;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// <c>/dashboard/stats</c>: a server-sent event stream of this node's figures, once a second,
/// protected exactly like the HTTP API; the pages themselves are public.
/// </summary>
public sealed class DashboardStatsTests
{
    private const string Key = "dashboard-key-0123456789abcdef";

    [Fact]
    [Trait("Category", "integration")]
    public async Task TheStatsStreamNeedsAnApiKeyWhileThePagesArePublic()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Api:AllowWithoutKey"] = "false",
            ["Switchboard:Api:Keys:0"] = Key,
        }, pages: true);

        using (var refused = await server.Http.GetAsync("dashboard/stats"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "dashboard/stats") { Headers = { { "X-Api-Key", "not-" + Key } } })
        using (var refused = await server.Http.SendAsync(wrong))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("")).StatusCode);
        await using var stream = await StatsReader.OpenAsync(server.Http, Key);
        Assert.Equal("text/event-stream", stream.MediaType);
        var (type, history) = await stream.NextAsync();
        Assert.Equal("history", type);
        Assert.Equal(JsonValueKind.Array, history.GetProperty("samples").ValueKind);
    }

    [Fact]
    [Trait("Category", "integration")]
    public async Task SnapshotsCountConnectionsRoomsAndPublicationsWithEachRoomsRate()
    {
        await using var server = await TestServer.StartAsync(pages: true);
        await using var stream = await StatsReader.OpenAsync(server.Http);
        await using var alice = await server.ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");

        // Published until a snapshot sees them: the room's rate comes from its stream top, sampled each second.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        JsonElement seen;
        while (true)
        {
            for (var i = 0; i < 5; i++)
            {
                using var response = await server.Http.PostAsJsonAsync("api/publish", new { room = "lobby", data = "x" });
                response.EnsureSuccessStatusCode();
            }

            var (type, data) = await stream.NextAsync();
            if (type == "stats"
                && data.GetProperty("connections").GetInt64() == 1
                && data.GetProperty("totals").GetProperty("publications").GetInt64() >= 5
                && data.GetProperty("busiestRooms").EnumerateArray().Any(r => r.GetProperty("room").GetString() == "lobby" && r.GetProperty("perSecond").GetDouble() > 0))
            {
                seen = data;
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "no snapshot showed a connection, publications and a busy lobby; the last was " + data);
        }

        var lobby = seen.GetProperty("topRooms").EnumerateArray().Single(r => r.GetProperty("room").GetString() == "lobby");
        Assert.Equal(1, lobby.GetProperty("connections").GetInt32());
        Assert.Equal("memory", seen.GetProperty("broker").GetString());
        Assert.False(seen.GetProperty("cluster").GetBoolean());
        Assert.Single(seen.GetProperty("nodes").EnumerateArray());
        Assert.True(seen.GetProperty("perSecond").GetProperty("messagesOut").GetDouble() > 0, "messages out per second counts the deliveries to alice");
    }

    [Fact]
    [Trait("Category", "integration")]
    public async Task AnOpenStatsStreamEndsWhenTheNodeStopsInsteadOfHoldingItUp()
    {
        await using var server = await TestServer.StartAsync(pages: true);
        await using var stream = await StatsReader.OpenAsync(server.Http);
        Assert.Equal("history", (await stream.NextAsync()).Type);

        // The drain (3 s in tests) plus a margin; an endless response would hold the host to its shutdown timeout.
        await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(8));
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (true)
            {
                await stream.NextAsync(TimeSpan.FromSeconds(5));
            }
        });
    }

    [Fact]
    [Trait("Category", "external")]
    public async Task OnRedisEveryNodeListsEveryLiveNodeAndDropsOneThatStops()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var first = await TestServer.StartAsync(RedisNodes.Settings(redis), pages: true);
        TestServer? second = await TestServer.StartAsync(RedisNodes.Settings(redis), pages: true);
        try
        {
            await using var stream = await StatsReader.OpenAsync(first.Http);
            var both = await stream.UntilAsync(s => s.GetProperty("nodes").GetArrayLength() == 2, "both nodes");
            Assert.True(both.GetProperty("cluster").GetBoolean());
            Assert.Equal("redis", both.GetProperty("broker").GetString());
            Assert.Contains(both.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("id").GetString() == both.GetProperty("node").GetString());

            await second.DisposeAsync();
            second = null;
            await stream.UntilAsync(s => s.GetProperty("nodes").GetArrayLength() == 1, "the stopped node gone", TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    [Fact]
    [Trait("Category", "external")]
    public async Task WhileRedisIsDownSnapshotsSaySoAndKeepComingEverySecond()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node = await TestServer.StartAsync(RedisNodes.Settings(redis), pages: true);
        await using var alice = await node.ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");
        await using var stream = await StatsReader.OpenAsync(node.Http);
        await stream.UntilAsync(s => s.GetProperty("unavailable").ValueKind == JsonValueKind.Null && s.GetProperty("nodes").GetArrayLength() == 1, "a healthy node");

        await redis.KillAsync();
        await stream.UntilAsync(s => s.GetProperty("unavailable").ValueKind == JsonValueKind.String, "redis unavailable", TimeSpan.FromSeconds(20));
        // Sampling does not wait for Redis deadlines: the next snapshots come a second apart.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("stats", (await stream.NextAsync(TimeSpan.FromSeconds(2.5))).Type);
        }

        await redis.RestartAsync();
        await stream.UntilAsync(s => s.GetProperty("unavailable").ValueKind == JsonValueKind.Null, "redis back", TimeSpan.FromSeconds(20));
    }
}
