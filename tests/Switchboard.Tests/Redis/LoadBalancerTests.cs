using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Redis;

/// <summary>
/// The whole deployment: three node processes (the shipped host) behind a real nginx running the
/// shipped configuration, one Redis. A node is killed with SIGKILL; its clients reconnect through
/// nginx to the survivors and recover, with <c>since</c>, every message published meanwhile.
/// Runs alone, after the parallel tests: starting three .NET processes on a 2-core machine that is
/// also running the rest of the suite could take longer than the host's start-up deadline.
/// </summary>
[Collection(TimingSensitive.Name)]
[Trait("Category", "external")]
public sealed class LoadBalancerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Room = "chat";
    private const int Clients = 9;
    private NodesBehindNginx? _cluster;

    private NodesBehindNginx Cluster => _cluster ?? throw new InvalidOperationException("the nodes were not started");

    private NginxServer Nginx => Cluster.Nginx;

    public async Task InitializeAsync()
    {
        _cluster = await NodesBehindNginx.StartAsync(3, output);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClientsOfAKilledNodeReconnectThroughNginxAndRecoverEveryMessagePublishedMeanwhile()
    {
        var chatters = new List<Chatter>();
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                chatters.Add(await Chatter.ConnectAsync(Nginx, $"c{i}"));
            }

            // Where did nginx put each client? Each is alone in a room named after it.
            var nodeOf = new Dictionary<Chatter, int>();
            for (var n = 0; n < Cluster.Addresses.Length; n++)
            {
                using var http = new HttpClient { BaseAddress = Cluster.Addresses[n], Timeout = TimeSpan.FromSeconds(10) };
                var rooms = await http.GetFromJsonAsync<JsonElement>("api/rooms");
                var here = rooms.GetProperty("rooms").EnumerateArray().Select(r => r.GetProperty("room").GetString()).ToHashSet();
                foreach (var chatter in chatters.Where(c => here.Contains("where-" + c.User)))
                {
                    nodeOf[chatter] = n;
                }
            }

            Assert.Equal(Clients, nodeOf.Count);
            output.WriteLine("clients per node: " + string.Join(", ", Enumerable.Range(0, 3).Select(n => nodeOf.Values.Count(v => v == n))));
            Assert.True(nodeOf.Values.Distinct().Count() == 3, "nginx spread the clients over every node");

            // Everyone chats; everyone sees everything.
            var published = 0;
            published += await ChatAsync(chatters, 5);
            await Task.WhenAll(chatters.Select(c => c.ReceiveUntilAsync(published)));

            var victim = nodeOf.Values.GroupBy(v => v).MaxBy(g => g.Count())!.Key;
            var moved = chatters.Where(c => nodeOf[c] == victim).ToList();
            var stayed = chatters.Except(moved).ToList();
            var killed = Stopwatch.StartNew();
            await Cluster.KillAsync(victim);
            await Task.WhenAll(moved.Select(c => c.Client.WaitForCloseAsync()));

            // Published while the moved clients are away: through nginx's HTTP API, and by the others.
            for (var i = 0; i < 20; i++)
            {
                await PublishThroughNginxAsync($"api {i}");
            }

            published += 20;
            published += await ChatAsync(stayed, 5);
            var missed = published - moved.Min(c => c.LastOffset);

            var recoveries = await Task.WhenAll(moved.Select(c => c.ReconnectAsync(Nginx)));
            var recoveredIn = killed.Elapsed;
            Assert.All(recoveries, Assert.True);

            published += await ChatAsync(chatters, 3);
            await Task.WhenAll(chatters.Select(c => c.ReceiveUntilAsync(published)));
            foreach (var chatter in chatters)
            {
                // Zero lost, none twice, order kept: offsets 1..N exactly.
                Assert.Equal(Enumerable.Range(1, published).Select(i => (ulong)i), chatter.Offsets);
            }

            output.WriteLine($"killed node {victim} with {moved.Count} clients; they missed up to {missed} messages, " +
                $"reconnected through nginx and recovered them all (recovered:true) {recoveredIn.TotalMilliseconds:F0} ms after the kill; " +
                $"{Clients} clients then held all {published} offsets in order");
        }
        finally
        {
            foreach (var chatter in chatters)
            {
                await chatter.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AServerSentEventsStreamThroughNginxTakesCommandsPostedThroughNginxWhicheverNodeTheyReach()
    {
        const int Publishes = 20;
        await using var member = await ProtocolClient.ConnectAsync(Nginx.Ws("ws?user=member"));
        await member.ExpectAsync("welcome");
        await member.RequestAsync("""{"op":"join","room":"sse"}""");
        // Stream and posts both through nginx, with no stickiness: least_conn sends a post to a node
        // with fewer open connections than the stream's, so most posts reach another node.
        await using var stream = await HttpStreamClient.OpenAsync(Nginx.BaseUri, "events?user=reader");
        // (nginx keeps the node's X-Accel-Buffering: no to itself: it is an instruction to nginx.)
        Assert.True(stream.IsServerSentEvents);
        await stream.ExpectAsync("welcome");

        var joined = await stream.RequestAsync("""{"op":"join","room":"sse"}""");
        Assert.Equal("reply", joined.GetProperty("op").GetString());
        for (var i = 0; i < Publishes; i++)
        {
            var reply = await stream.RequestAsync($$"""{"op":"publish","room":"sse","data":{{i}}}""");
            Assert.True(reply.GetProperty("op").GetString() == "reply", reply.GetRawText());
        }

        var received = await member.TakeAsync("sse", Publishes, TimeSpan.FromSeconds(15));
        Assert.Equal(Enumerable.Range(1, Publishes).Select(i => (ulong)i), received.Select(m => m.Offset()));
        var forwarded = 0.0;
        foreach (var address in Cluster.Addresses)
        {
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
            forwarded += (await MetricsScrape.ReadAsync(http))["switchboard_stream_posts_forwarded_total{outcome=\"accepted\"}"] ?? 0;
        }

        output.WriteLine($"{forwarded} of {Publishes + 1} posts through nginx reached another node than the stream's and were forwarded");
        Assert.True(forwarded > 0, "some posts reached another node than the stream's");
    }

    /// <summary>Each chatter publishes <paramref name="each"/> messages, awaiting every reply; returns how many.</summary>
    private static async Task<int> ChatAsync(IReadOnlyList<Chatter> chatters, int each)
    {
        await Task.WhenAll(chatters.Select(async c =>
        {
            for (var i = 0; i < each; i++)
            {
                var reply = await c.Client.RequestAsync($$"""{"op":"publish","room":"{{Room}}","data":"{{c.User}} says {{i}}"}""");
                Assert.Equal("reply", reply.GetProperty("op").GetString());
            }
        }));
        return chatters.Count * each;
    }

    private async Task PublishThroughNginxAsync(string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var response = await Nginx.Http.PostAsJsonAsync("api/publish", new { room = Room, data = text });
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            // nginx answers 502 once for a POST it had already sent on a kept-alive connection to the
            // dead node: that node published nothing, so sending it again is safe.
            Assert.True(response.StatusCode == HttpStatusCode.BadGateway && DateTime.UtcNow < deadline, $"publish through nginx answered {response.StatusCode}:\n{Nginx.Output}");
        }
    }

    /// <summary>One chat client through nginx, with every offset of the room it has seen.</summary>
    private sealed class Chatter : IAsyncDisposable
    {
        private Chatter(string user, ProtocolClient client, string epoch)
        {
            User = user;
            Client = client;
            Epoch = epoch;
        }

        public string User { get; }

        public ProtocolClient Client { get; private set; }

        public string Epoch { get; }

        public List<ulong> Offsets { get; } = [];

        public int LastOffset => Offsets.Count == 0 ? 0 : (int)Offsets[^1];

        public static async Task<Chatter> ConnectAsync(NginxServer nginx, string user)
        {
            var client = await ProtocolClient.ConnectAsync(nginx.Ws("ws?user=" + user));
            await client.ExpectAsync("welcome");
            var joined = await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
            Assert.Equal(0UL, joined.GetProperty("offset").GetUInt64());
            await client.RequestAsync($$"""{"op":"join","room":"where-{{user}}"}""");
            return new Chatter(user, client, joined.GetProperty("epoch").GetString()!);
        }

        public async Task ReceiveUntilAsync(int offset)
        {
            var messages = await Client.TakeAsync(Room, offset - LastOffset, TimeSpan.FromSeconds(15));
            Offsets.AddRange(messages.Select(m => m.Offset()));
        }

        /// <summary>Reconnects through nginx and rejoins with <c>since</c>; returns the reply's <c>recovered</c>.</summary>
        public async Task<bool> ReconnectAsync(NginxServer nginx)
        {
            await Client.DisposeAsync();
            Client = await ProtocolClient.ConnectAsync(nginx.Ws("ws?user=" + User));
            await Client.ExpectAsync("welcome");
            var reply = await Client.RequestAsync($$$"""{"op":"join","room":"{{{Room}}}","since":{"offset":{{{LastOffset}}},"epoch":"{{{Epoch}}}"}}""");
            Assert.Equal("reply", reply.GetProperty("op").GetString());
            Offsets.AddRange(reply.GetProperty("publications").EnumerateArray().Select(p => p.Offset()));
            return reply.GetProperty("recovered").GetBoolean();
        }

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }
}
