using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brokers;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Token holders trying to make the node hold gigabytes of history: join, publish the largest
/// messages allowed, leave, over fresh rooms, whose history would otherwise be kept for
/// <c>History:TtlSeconds</c> each. The byte budgets per room, per user and per node contain it, seen
/// on the node's <c>switchboard_history_bytes</c> gauge; publishing is never refused for it.
/// </summary>
[Trait("Category", "integration")]
public sealed class HistoryBudgetTests(ITestOutputHelper output)
{
    // The largest JSON string that fits the default 64 KiB message with the publish envelope around it.
    private const int DataBytes = 60 * 1024;
    private const long KiB = 1024;
    private const long MiB = 1024 * 1024;

    private static readonly string BigData = "\"" + new string('x', DataBytes - 2) + "\"";

    [Fact]
    public async Task JoinPublishLeaveOverFreshRoomsKeepsTheNodesHistoryUnderItsBudget()
    {
        const int users = 4;
        const int roomsEach = 5;
        const int publishesPerRoom = 10;
        var nodeBudget = 2 * MiB;
        // Four users at 1 MiB each could hold 4 MiB: the node budget is what holds them to 2.
        await using var server = await TestServer.StartAsync(Budgets(room: MiB, user: MiB, node: nodeBudget));
        var broker = server.Services.GetRequiredService<MemoryBroker>();
        long published = 0;
        long highest = 0;

        var attackers = new List<ProtocolClient>();
        try
        {
            for (var u = 0; u < users; u++)
            {
                attackers.Add(await server.ConnectAsync("attacker" + u));
            }

            for (var r = 0; r < roomsEach; r++)
            {
                for (var u = 0; u < users; u++)
                {
                    published += await JoinPublishLeaveAsync(attackers[u], $"fresh:{u}:{r}", publishesPerRoom);
                    highest = Math.Max(highest, broker.RetainedBytes);
                }
            }
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                await attacker.DisposeAsync();
            }
        }

        var gauge = (await MetricsScrape.ReadAsync(server))["switchboard_history_bytes"];
        output.WriteLine($"published {published / KiB} KiB of frames in {users * roomsEach} rooms; retained at most {highest / KiB} KiB, now {gauge / KiB} KiB (node budget {nodeBudget / KiB} KiB)");
        Assert.True(highest <= nodeBudget, $"the node held {highest} bytes of history, over its budget of {nodeBudget}");
        Assert.True(gauge <= nodeBudget, $"switchboard_history_bytes is {gauge}");
        // Oldest out: the node is full of the newest publications, and the very last room kept its own.
        Assert.True(gauge > nodeBudget - (2 * DataBytes), $"switchboard_history_bytes is {gauge}, far under the budget: newer publications were dropped instead of older ones");
        await using var reader = await server.ConnectAsync("reader");
        var last = await reader.RequestAsync($$"""{"op":"history","room":"fresh:{{users - 1}}:{{roomsEach - 1}}"}""");
        Assert.Equal(publishesPerRoom, last.GetProperty("publications").GetArrayLength());
    }

    [Fact]
    public async Task OneUserLoopingOverFreshRoomsHoldsNoMoreThanItsBudgetAndOthersKeepTheirHistory()
    {
        var userBudget = MiB;
        await using var server = await TestServer.StartAsync(Budgets(room: MiB, user: userBudget, node: 256 * MiB));
        var broker = server.Services.GetRequiredService<MemoryBroker>();
        await using var bob = await server.ConnectAsync("bob");
        Assert.Equal("reply", Op(await bob.RequestAsync("""{"op":"join","room":"bobs-room"}""")));
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal("reply", Op(await bob.RequestAsync($$$"""{"op":"publish","room":"bobs-room","data":{"n":{{{i}}}}}""")));
        }

        await using var mallory = await server.ConnectAsync("mallory");
        long published = 0;
        long highest = 0;
        for (var r = 0; r < 8; r++)
        {
            published += await JoinPublishLeaveAsync(mallory, "mallory:" + r, 10);
            highest = Math.Max(highest, broker.RetainedBytesOf("mallory"));
        }

        output.WriteLine($"mallory published {published / KiB} KiB; her history peaked at {highest / KiB} KiB (user budget {userBudget / KiB} KiB); node holds {broker.RetainedBytes / KiB} KiB");
        Assert.True(highest <= userBudget, $"mallory held {highest} bytes of history, over her budget of {userBudget}");
        Assert.True(broker.RetainedBytes <= userBudget + (16 * KiB), $"the node holds {broker.RetainedBytes} bytes");
        var history = await bob.RequestAsync("""{"op":"history","room":"bobs-room"}""");
        Assert.Equal([1, 2, 3, 4, 5], history.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetProperty("n").GetInt32()));
    }

    [Fact]
    public async Task ARoomKeepsItsNewestPublicationsWithinItsByteBudget()
    {
        var roomBudget = 256 * KiB;
        await using var server = await TestServer.StartAsync(Budgets(room: roomBudget, user: 64 * MiB, node: 256 * MiB));
        var broker = server.Services.GetRequiredService<MemoryBroker>();
        await using var alice = await server.ConnectAsync("alice");
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"big"}""")));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("reply", Op(await alice.RequestAsync($$"""{"op":"publish","room":"big","data":{{BigData}}}""")));
        }

        var history = await alice.RequestAsync("""{"op":"history","room":"big"}""");
        var offsets = history.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetInt32()).ToArray();
        output.WriteLine($"the room keeps offsets {string.Join(',', offsets)}: {broker.RetainedBytes / KiB} KiB of a {roomBudget / KiB} KiB budget");
        Assert.True(broker.RetainedBytes <= roomBudget, $"the room holds {broker.RetainedBytes} bytes");
        // The newest, without a gap: 60 KiB publications, four to a 256 KiB budget.
        Assert.Equal([17, 18, 19, 20], offsets);
    }

    [Fact]
    public async Task PublicationsToRoomsNobodyJoinedAreNotKeptByDefault()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:KeepUnjoinedRooms"] = "false" });
        var broker = server.Services.GetRequiredService<MemoryBroker>();
        for (var r = 0; r < 10; r++)
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "nobody:" + r, data = new string('x', 1000) });
                response.EnsureSuccessStatusCode();
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                // Offsets still advance: a member joining later sees where the stream is.
                Assert.Equal((ulong)(i + 1), body.RootElement.GetProperty("offset").GetUInt64());
            }
        }

        output.WriteLine($"30 publications to 10 rooms nobody joined: {broker.RetainedBytes} bytes retained");
        Assert.Equal(0, broker.RetainedBytes);
        using var history = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("api/rooms/nobody:0/history", UriKind.Relative)));
        Assert.Equal(0, history.RootElement.GetProperty("publications").GetArrayLength());

        // Once a member has joined, the room keeps its history, after the member leaves too.
        await using var alice = await server.ConnectAsync("alice");
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"join","room":"nobody:0"}""")));
        Assert.Equal("reply", Op(await alice.RequestAsync("""{"op":"leave","room":"nobody:0"}""")));
        using (var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "nobody:0", data = 4 }))
        {
            response.EnsureSuccessStatusCode();
        }

        using var kept = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("api/rooms/nobody:0/history", UriKind.Relative)));
        Assert.Equal([4UL], kept.RootElement.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetUInt64()));
    }

    private static Dictionary<string, string?> Budgets(long room, long user, long node) => new()
    {
        ["Switchboard:History:MaxBytesPerRoom"] = room.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:History:MaxBytesPerUser"] = user.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:History:MaxBytesPerNode"] = node.ToString(CultureInfo.InvariantCulture),
        // The attacker reads its own 60 KiB echoes only between requests.
        ["Switchboard:Limits:MaxQueuedBytes"] = (64 * MiB).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Joins <paramref name="room"/>, publishes <paramref name="count"/> of the largest messages, leaves; returns the bytes published.</summary>
    private static async Task<long> JoinPublishLeaveAsync(ProtocolClient client, string room, int count)
    {
        Assert.Equal("reply", Op(await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""")));
        for (var i = 0; i < count; i++)
        {
            // Never refused: the budgets decide what is kept, not what is said.
            Assert.Equal("reply", Op(await client.RequestAsync($$"""{"op":"publish","room":"{{room}}","data":{{BigData}}}""")));
            await client.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("room").GetString() == room);
        }

        Assert.Equal("reply", Op(await client.RequestAsync($$"""{"op":"leave","room":"{{room}}"}""")));
        return (long)count * DataBytes;
    }

    private static string? Op(JsonElement message) => message.GetProperty("op").GetString();
}
