using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StackExchange.Redis;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// Three Switchboard servers sharing a Redis deployment: what a member on one sees of the others. Run
/// on one server (<see cref="SingleRedisMultiNodeTests"/>), two standalone shards
/// (<see cref="ShardedRedisMultiNodeTests"/>) and a three-master Redis Cluster
/// (<see cref="ClusterRedisMultiNodeTests"/>); every test starts on an emptied deployment.
/// </summary>
public abstract class MultiNodeTests(RedisTopology redis) : IAsyncLifetime
{
    private TestServer[] _nodes = [];

    public async Task InitializeAsync()
    {
        await redis.FlushAsync();
        _nodes = await RedisNodes.StartServersAsync(redis.Settings(), 3);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task MembersOnThreeNodesReceiveEveryPublicationOfEveryNodeInOffsetOrder()
    {
        var members = new List<ProtocolClient>();
        try
        {
            foreach (var (node, i) in _nodes.Select((n, i) => (n, i)))
            {
                var member = await node.ConnectAsync($"member{i}");
                members.Add(member);
                await member.RequestAsync("""{"op":"join","room":"lobby"}""");
            }

            const int each = 30;
            var replies = await Task.WhenAll(members.Select(async member =>
            {
                var offsets = new List<ulong>();
                for (var n = 0; n < each; n++)
                {
                    var reply = await member.RequestAsync($$"""{"op":"publish","room":"lobby","data":{{n}}}""");
                    Assert.True(reply.GetProperty("op").GetString() == "reply", reply.GetRawText());
                    offsets.Add(reply.GetProperty("offset").GetUInt64());
                }

                return offsets;
            }));

            var expected = Enumerable.Range(1, members.Count * each).Select(i => (ulong)i).ToArray();
            Assert.Equal(expected, replies.SelectMany(r => r).Order());
            foreach (var member in members)
            {
                var received = await member.TakeAsync("lobby", expected.Length);
                Assert.Equal(expected, received.Select(m => m.Offset()));
            }
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task CommandsPostedToAnotherNodeRunInTheStreamOfTheNodeThatHoldsIt()
    {
        await using var stream = (HttpStreamClient)await _nodes[0].ConnectAsync(SessionTransport.ServerSentEvents, "alice");
        await using var bob = await _nodes[1].ConnectAsync("bob");
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");
        stream.CommandsBaseUri = _nodes[1].BaseUri;

        var joined = await stream.RequestAsync("""{"op":"join","room":"lobby"}""");
        var published = await stream.RequestAsync("""{"op":"publish","room":"lobby","data":"over the relay"}""");

        Assert.Equal("reply", joined.GetProperty("op").GetString());
        Assert.Equal("reply", published.GetProperty("op").GetString());
        var own = await stream.ExpectAsync("message");
        Assert.Equal("over the relay", own.GetProperty("data").GetString());
        var received = await bob.ExpectAsync("message");
        Assert.Equal("alice", received.GetProperty("from").GetString());
        Assert.Equal(published.GetProperty("offset").GetUInt64(), received.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task ADirectMessageReachesEveryDeviceOfItsUserOnEveryNode()
    {
        await using var phone = await _nodes[0].ConnectAsync("bob");
        await using var laptop = await _nodes[2].ConnectAsync("bob");
        await using var alice = await _nodes[1].ConnectAsync("alice");

        var reply = await alice.RequestAsync("""{"op":"send","user":"bob","data":{"text":"psst"}}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        using var response = await _nodes[1].Http.PostAsJsonAsync("api/send", new { user = "bob", data = "from the backend" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        foreach (var device in new[] { phone, laptop })
        {
            var first = await device.ExpectAsync("direct");
            Assert.Equal("alice", first.GetProperty("from").GetString());
            Assert.Equal("psst", first.GetProperty("data").GetProperty("text").GetString());
            var second = await device.ExpectAsync("direct");
            Assert.Equal(JsonValueKind.Null, second.GetProperty("from").ValueKind);
        }
    }

    [Fact]
    public async Task PresenceIsTheUnionOfTheNodesAndJoinedAndLeftCrossNodes()
    {
        await using var alice = await _nodes[0].ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"team"}""");
        await alice.ExpectAsync(m => IsPresence(m, "joined", "alice"));

        var bob = await _nodes[1].ConnectAsync("bob");
        await using var carol = await _nodes[2].ConnectAsync("carol");
        await bob.RequestAsync("""{"op":"join","room":"team"}""");
        await carol.RequestAsync("""{"op":"join","room":"team"}""");
        await alice.ExpectAsync(m => IsPresence(m, "joined", "bob"));
        await alice.ExpectAsync(m => IsPresence(m, "joined", "carol"));
        await carol.ExpectAsync(m => IsPresence(m, "joined", "carol"));

        foreach (var (client, node) in new[] { (alice, 0), (carol, 2) })
        {
            var presence = await client.RequestAsync("""{"op":"presence","room":"team"}""");
            Assert.Equal("""{"alice":1,"bob":1,"carol":1}""", presence.GetProperty("users").GetRawText());
        }

        using (var http = await _nodes[1].Http.GetAsync("api/rooms/team/presence"))
        {
            Assert.Contains("\"carol\":1", await http.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // bob's node has no member left in the room after this: its left event must still cross.
        await bob.CloseAsync();
        await bob.DisposeAsync();
        await alice.ExpectAsync(m => IsPresence(m, "left", "bob"));
        await carol.ExpectAsync(m => IsPresence(m, "left", "bob"));
        var after = await alice.RequestAsync("""{"op":"presence","room":"team"}""");
        Assert.Equal("""{"alice":1,"carol":1}""", after.GetProperty("users").GetRawText());
    }

    [Fact]
    public async Task AUserOnTwoNodesIsAnnouncedOnceAndLeavesWithItsLastConnection()
    {
        await using var carol = await _nodes[2].ConnectAsync("carol");
        await carol.RequestAsync("""{"op":"join","room":"duo"}""");
        // dave publishes the markers from node 0: what node 0 announced before a marker reaches carol before it.
        await using var dave = await _nodes[0].ConnectAsync("dave");
        await dave.RequestAsync("""{"op":"join","room":"duo"}""");
        Assert.True(IsPresence(await NextEventAsync(carol), "joined", "carol"));
        Assert.True(IsPresence(await NextEventAsync(carol), "joined", "dave"));

        await using var phone = await _nodes[0].ConnectAsync("alice");
        await phone.RequestAsync("""{"op":"join","room":"duo"}""");
        Assert.True(IsPresence(await NextEventAsync(carol), "joined", "alice"));
        await using var laptop = await _nodes[1].ConnectAsync("alice");
        await laptop.RequestAsync("""{"op":"join","room":"duo"}""");
        // From node 1, after its announcement was decided: no second joined comes before it.
        await laptop.RequestAsync("""{"op":"publish","room":"duo","data":"second device"}""");
        Assert.Equal("second device", (await NextEventAsync(carol)).GetProperty("data").GetString());

        await phone.RequestAsync("""{"op":"leave","room":"duo"}""");
        await dave.RequestAsync("""{"op":"publish","room":"duo","data":"phone gone"}""");
        Assert.Equal("phone gone", (await NextEventAsync(carol)).GetProperty("data").GetString());
        var presence = await carol.RequestAsync("""{"op":"presence","room":"duo"}""");
        Assert.Equal("""{"alice":1,"carol":1,"dave":1}""", presence.GetProperty("users").GetRawText());

        // Node 1's last member: the entry goes with it, and alice is in no node's entry any more.
        await laptop.RequestAsync("""{"op":"leave","room":"duo"}""");
        Assert.True(IsPresence(await NextEventAsync(carol), "left", "alice"));
        await dave.RequestAsync("""{"op":"publish","room":"duo","data":"laptop gone"}""");
        Assert.Equal("laptop gone", (await NextEventAsync(carol)).GetProperty("data").GetString());
        presence = await carol.RequestAsync("""{"op":"presence","room":"duo"}""");
        Assert.Equal("""{"carol":1,"dave":1}""", presence.GetProperty("users").GetRawText());
    }

    [Fact]
    public async Task ANodeThatStopsGracefullyTellsTheOtherNodesItsUsersLeft()
    {
        await using var alice = await _nodes[0].ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"deploy"}""");
        await using var bob = await _nodes[1].ConnectAsync("bob");
        await bob.RequestAsync("""{"op":"join","room":"deploy"}""");
        await alice.ExpectAsync(m => IsPresence(m, "joined", "bob"));

        // As on SIGTERM: the node drains (bob is closed with 1001), then leaves Redis.
        await _nodes[1].StopAsync();
        Assert.Equal(1001, (int?)await bob.WaitForCloseAsync());
        await alice.ExpectAsync(m => IsPresence(m, "left", "bob"));
        var presence = await alice.RequestAsync("""{"op":"presence","room":"deploy"}""");
        Assert.Equal("""{"alice":1}""", presence.GetProperty("users").GetRawText());
    }

    [Fact]
    public async Task ConnectionCountsThatSendNoEventReachOtherNodesWithinAHeartbeat()
    {
        await using var phone = await _nodes[0].ConnectAsync("dave");
        await phone.RequestAsync("""{"op":"join","room":"counts"}""");
        await using var laptop = await _nodes[0].ConnectAsync("dave");
        await laptop.RequestAsync("""{"op":"join","room":"counts"}""");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string users;
        while ((users = (await _nodes[2].Http.GetFromJsonAsync<JsonElement>("api/rooms/counts/presence")).GetProperty("users").GetRawText()) != """{"dave":2}""")
        {
            Assert.True(DateTime.UtcNow < deadline, "node 2 still sees " + users);
            // Polling interval: the count travels with the next heartbeat, which announces nothing.
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AClientThatReconnectsToAnotherNodeRecoversEverythingItMissed()
    {
        var alice = await _nodes[0].ConnectAsync("alice");
        var joined = await alice.RequestAsync("""{"op":"join","room":"news"}""");
        var epoch = joined.GetProperty("epoch").GetString();
        for (var i = 1; i <= 3; i++)
        {
            await alice.RequestAsync($$"""{"op":"publish","room":"news","data":{{i}}}""");
        }

        var seen = (await alice.TakeAsync("news", 3)).Last().Offset();
        await alice.DisposeAsync();

        for (var i = 4; i <= 6; i++)
        {
            using var published = await _nodes[1].Http.PostAsJsonAsync("api/publish", new { room = "news", data = i });
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        }

        await using var again = await _nodes[2].ConnectAsync("alice");
        var recovered = await again.RequestAsync($$$"""{"op":"join","room":"news","since":{"offset":{{{seen}}},"epoch":"{{{epoch}}}"}}""");
        Assert.True(recovered.GetProperty("recovered").GetBoolean());
        Assert.Equal([4UL, 5UL, 6UL], recovered.GetProperty("publications").EnumerateArray().Select(p => p.Offset()));
        Assert.Equal([4, 5, 6], recovered.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetInt32()));
    }

    [Fact]
    public async Task WhenARoomsStreamIsLostItsMembersAreToldPerRoomAndRejoinOnTheSameConnectionWhileTheirOtherRoomFlows()
    {
        // Members of two rooms on two nodes, each holding a position in both.
        await using var alice = await _nodes[0].ConnectAsync("alice");
        await using var bob = await _nodes[1].ConnectAsync("bob");
        string? epoch = null;
        foreach (var member in new[] { alice, bob })
        {
            epoch = (await member.RequestAsync("""{"op":"join","room":"fragile"}""")).GetProperty("epoch").GetString();
            await member.RequestAsync("""{"op":"join","room":"steady"}""");
        }

        await PublishAsync("fragile", 1);
        await PublishAsync("steady", 1);
        var seen = new Dictionary<ProtocolClient, ulong>();
        foreach (var member in new[] { alice, bob })
        {
            seen[member] = (await member.TakeAsync("fragile", 1))[0].Offset();
            await member.TakeAsync("steady", 1);
        }

        // As Redis evicting the room, or restarting without persistence: the next publication starts a new epoch.
        Assert.Equal(2L, (long)await redis.ExecuteForRoomAsync("fragile", "DEL", (RedisKey)"sb:{fragile}:meta", (RedisKey)"sb:{fragile}:stream"));
        await PublishAsync("fragile", 2);
        // Offset 2 of the new epoch is above the position the members hold (1 of the old one): were it
        // delivered, nothing could tell it from the old epoch's offset 2.
        await PublishAsync("fragile", 22);
        foreach (var member in new[] { alice, bob })
        {
            var removed = await member.ExpectAsync("removed");
            Assert.Equal("fragile", removed.GetProperty("room").GetString());
            Assert.Equal("stream_lost", removed.GetProperty("code").GetString());
            Assert.True(removed.GetProperty("rejoin").GetBoolean());
        }

        // The other room keeps flowing on the same connections.
        await PublishAsync("steady", 2);
        foreach (var member in new[] { alice, bob })
        {
            Assert.Equal([2], (await member.TakeAsync("steady", 1)).Select(m => m.GetProperty("data").GetInt32()));
        }

        foreach (var member in new[] { alice, bob })
        {
            var rejoined = await member.RequestAsync($$$"""{"op":"join","room":"fragile","since":{"offset":{{{seen[member]}}},"epoch":"{{{epoch}}}"}}""");
            Assert.False(rejoined.GetProperty("recovered").GetBoolean());
            Assert.NotEqual(epoch, rejoined.GetProperty("epoch").GetString());
            Assert.Equal([2, 22], rejoined.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetInt32()));
        }

        await PublishAsync("fragile", 3);
        await PublishAsync("steady", 3);
        foreach (var member in new[] { alice, bob })
        {
            await member.TakeAsync("fragile", 1);
            await member.TakeAsync("steady", 1);
            Assert.False(member.Closed.Task.IsCompleted, "the connection stays open");
            // Every fragile message the connection received, in order: the old epoch's offset, then the new
            // epoch's only once, after the re-join reply that covered the one before it.
            var fragile = Lines(member).Where(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("room").GetString() == "fragile")
                .Select(m => m.GetProperty("data").GetInt32());
            Assert.Equal([1, 3], fragile);
        }

        static IEnumerable<JsonElement> Lines(ProtocolClient member)
        {
            lock (member.RawTextFrames)
            {
                return member.RawTextFrames.SelectMany(f => f.Split('\n')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
            }
        }
    }

    private async Task PublishAsync(string room, int data)
    {
        using var published = await _nodes[2].Http.PostAsJsonAsync("api/publish", new { room, data });
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
    }

    [Fact]
    public async Task WhileRedisIsDownNodesReportItAndRefusePublishesWithAnErrorThenRecover()
    {
        await using var alice = await _nodes[0].ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"ops"}""");
        await redis.KillAsync();

        await WaitForHealthAsync(_nodes[0], HttpStatusCode.ServiceUnavailable);
        using (var ready = await _nodes[0].Http.GetAsync("readyz"))
        {
            Assert.Equal("""{"status":"unavailable","reason":"redis unavailable"}""", await ready.Content.ReadAsStringAsync());
        }

        // Alive all the same: a liveness probe must not restart a node for its broker's outage.
        using (var alive = await _nodes[0].Http.GetAsync("healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }

        using (var refused = await _nodes[1].Http.PostAsJsonAsync("api/publish", new { room = "ops", data = 1 }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("unavailable", error.GetProperty("error").GetProperty("code").GetString());
        }

        var failed = await alice.RequestAsync("""{"op":"publish","room":"ops","data":2}""");
        Assert.Equal("error", failed.GetProperty("op").GetString());
        Assert.Equal("unavailable", failed.GetProperty("code").GetString());

        await redis.RestartAsync();
        foreach (var node in _nodes)
        {
            await WaitForHealthAsync(node, HttpStatusCode.OK);
        }

        var published = await alice.RequestAsync("""{"op":"publish","room":"ops","data":3}""");
        Assert.Equal("reply", published.GetProperty("op").GetString());
        var message = await alice.ExpectAsync("message");
        Assert.Equal(3, message.GetProperty("data").GetInt32());
    }

    /// <summary>The next presence event or publication, skipping replies.</summary>
    private static Task<JsonElement> NextEventAsync(ProtocolClient client) =>
        client.ExpectAsync(m => m.GetProperty("op").GetString() is "joined" or "left" or "message");

    private static bool IsPresence(JsonElement message, string op, string user) =>
        message.GetProperty("op").GetString() == op && message.GetProperty("user").GetString() == user;

    private static async Task WaitForHealthAsync(TestServer node, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var response = await node.Http.GetAsync("readyz");
            if (response.StatusCode == status)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/readyz stayed {response.StatusCode}, expected {status}");
            // Polling interval: readiness has no event to await.
            await Task.Delay(20);
        }
    }
}
