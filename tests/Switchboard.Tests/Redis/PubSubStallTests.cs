using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Redis;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// A node's subscriber connection stops bringing messages while its interactive connection works: it
/// is killed, or it goes silent. The node notices, reports itself unready, gets its subscriptions back
/// and catches up, so a member there misses nothing and sees nothing twice.
/// </summary>
[Trait("Category", "external")]
public sealed partial class PubSubStallTests : IAsyncLifetime
{
    private const string Room = "feed";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly List<IAsyncDisposable> _owned = [];
    private RedisServer _redis = null!;
    private int _published;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task AfterClientKillOfEveryPubSubConnectionAMemberOnTheOtherNodeGetsEveryPublicationOnceInOrder()
    {
        var publisher = await StartNodeAsync(_redis.Configuration);
        var receiver = await StartNodeAsync(_redis.Configuration);
        var member = await JoinAsync(receiver);
        await PublishAsync(publisher, 10);
        Assert.Equal(Offsets(1, 10), (await member.TakeAsync(Room, 10, Deadline)).Select(m => m.Offset()));
        var stallsBefore = BrokerOf(receiver).PubSubStalls;

        var killed = await _redis.CommandAsync("CLIENT", "KILL", "TYPE", "pubsub");
        Assert.StartsWith(":", killed, StringComparison.Ordinal);
        Assert.NotEqual(":0", killed);
        // Published while the subscriber connections are gone or still re-subscribing.
        await PublishAsync(publisher, 20);

        await Eventually.TrueAsync(() => BrokerOf(receiver).PubSubStalls > stallsBefore, "the receiver counted the stall", Deadline);
        await WaitReadyAsync(receiver, HttpStatusCode.OK);
        await PublishAsync(publisher, 1);
        // Offsets 11 to 31, each once, in order: the catch-up brought what pub/sub dropped, and the
        // last one (published once the node was ready again) proves nothing else was left to come.
        Assert.Equal(Offsets(11, 31), (await member.TakeAsync(Room, 21, Deadline)).Select(m => m.Offset()));
    }

    [Fact]
    public async Task ASilentSubscriberConnectionMakesTheNodeUnreadyAndOnceItSpeaksAgainTheMemberGetsEveryPublicationOnceInOrder()
    {
        var (proxy, publisher, receiver, member) = await ReceiverBehindProxyAsync(string.Empty);

        proxy.PauseFromServer(await SubscriberPortAsync(proxy));
        await PublishAsync(publisher, 15);
        // Within an interval and a timeout of the probe (0.2 s + 0.5 s here), with room for a busy machine;
        // long before StackExchange.Redis would give up on the connection on its own (four 2 s async timeouts).
        var unready = await WaitReadyAsync(receiver, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(5));
        Assert.Equal("unavailable", unready.GetProperty("status").GetString());
        Assert.Equal("redis unavailable", unready.GetProperty("reason").GetString());
        Assert.Equal(1, BrokerOf(receiver).PubSubStalls);
        var metrics = await MetricsScrape.ReadAsync(receiver);
        Assert.True(metrics["switchboard_redis_pubsub_stalls_total{cause=\"silent\"}"] == 1, metrics.Text);
        Assert.True(metrics["switchboard_redis_pubsub_stalls_total{cause=\"disconnected\"}"] == 0, metrics.Text);
        var catchUpsBefore = BrokerOf(receiver).CatchUps;

        proxy.ResumeAll();
        await WaitReadyAsync(receiver, HttpStatusCode.OK);
        // The proxy held what Redis sent, so nothing was lost this time; but the node cannot know that,
        // and catches every room up as after a reconnect (which did not happen: no connection failed).
        await Eventually.TrueAsync(() => BrokerOf(receiver).CatchUps > catchUpsBefore, "the receiver caught its rooms up", Deadline);
        await PublishAsync(publisher, 1);
        Assert.Equal(Offsets(6, 21), (await member.TakeAsync(Room, 16, Deadline)).Select(m => m.Offset()));
    }

    [Fact]
    public async Task ASubscriberConnectionThatStaysSilentIsReplacedAndTheMemberCatchesUp()
    {
        // asyncTimeout=500: StackExchange.Redis drops a connection that read nothing for four of them.
        var (proxy, publisher, receiver, member) = await ReceiverBehindProxyAsync(",asyncTimeout=500");

        // Never resumed: only a new connection brings the node back.
        proxy.PauseFromServer(await SubscriberPortAsync(proxy));
        await PublishAsync(publisher, 15);
        await WaitReadyAsync(receiver, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(5));
        await WaitReadyAsync(receiver, HttpStatusCode.OK);
        await PublishAsync(publisher, 1);
        Assert.Equal(Offsets(6, 21), (await member.TakeAsync(Room, 16, Deadline)).Select(m => m.Offset()));
        Assert.True(BrokerOf(receiver).PubSubStalls >= 1);
    }

    [Fact]
    public async Task DirectsSentWhileTheRecipientNodeIsNotSubscribedAreCountedThereAsMissedAndLaterOnesDelivered()
    {
        var proxy = TcpProxy.Start(_redis.Port);
        _owned.Add(proxy);
        var sender = await StartNodeAsync(_redis.Configuration);
        var recipient = await StartNodeAsync($"127.0.0.1:{proxy.Port.ToString(CultureInfo.InvariantCulture)},connectTimeout=2000");
        var alice = await sender.ConnectAsync("alice");
        _owned.Add(alice);
        var bob = await recipient.ConnectAsync("bob");
        _owned.Add(bob);
        await SendDirectAsync(alice, 0);
        Assert.Equal(0, (await bob.ExpectAsync("direct")).GetProperty("data").GetInt32());

        // The recipient's subscriber connection is killed, and its reconnect hangs at the handshake:
        // Redis has no subscriber for bob's channel until the test lets the reconnect through.
        var subscriber = await SubscriberPortAsync(proxy);
        proxy.PauseNewFromServer();
        Assert.Equal(":1", await _redis.CommandAsync("CLIENT", "KILL", "ADDR", $"127.0.0.1:{subscriber.ToString(CultureInfo.InvariantCulture)}"));
        Assert.Equal(":0", await _redis.CommandAsync("EVAL", "return redis.call('PUBSUB', 'NUMSUB', KEYS[1])[2]", "1", "sb:user:{bob}"));
        for (var n = 1; n <= 3; n++)
        {
            await SendDirectAsync(alice, n);
        }

        proxy.ResumeAll();
        await Eventually.TrueAsync(() => BrokerOf(recipient).DirectsMissed == 3, "the recipient counted the 3 directs it missed", Deadline);
        await WaitReadyAsync(recipient, HttpStatusCode.OK);
        await SendDirectAsync(alice, 4);
        // Directs are not kept, so 1 to 3 are gone (counted, not delivered late); 4 arrives as usual.
        Assert.Equal(4, (await bob.ExpectAsync("direct")).GetProperty("data").GetInt32());
        Assert.Equal(3, BrokerOf(recipient).DirectsMissed);
        Assert.Equal(0, BrokerOf(sender).DirectsMissed);
        Assert.Equal(3, (await MetricsScrape.ReadAsync(recipient))["switchboard_redis_directs_undelivered_total"]);
    }

    private static async Task SendDirectAsync(ProtocolClient from, int n)
    {
        var reply = await from.RequestAsync($$"""{"op":"send","user":"bob","data":{{n}}}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
    }

    private static IEnumerable<ulong> Offsets(int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => (ulong)i);

    private static RedisBroker BrokerOf(TestServer node) => node.Services.GetRequiredService<RedisBroker>();

    [GeneratedRegex(@"addr=127\.0\.0\.1:(\d+) ")]
    private static partial Regex ClientAddress();

    /// <summary>The proxy-side port of the receiver's subscriber connection: the one proxied connection Redis lists as a pub/sub client.</summary>
    /// <summary>
    /// A publishing node straight on Redis and a receiving node whose connections go through a
    /// <see cref="TcpProxy"/> the test can pause (<paramref name="receiverOptions"/> appended to its
    /// connection string), a member on the receiver that already got offsets 1 to 5, and the receiver ready.
    /// </summary>
    private async Task<(TcpProxy Proxy, TestServer Publisher, TestServer Receiver, ProtocolClient Member)> ReceiverBehindProxyAsync(string receiverOptions)
    {
        var proxy = TcpProxy.Start(_redis.Port);
        _owned.Add(proxy);
        var publisher = await StartNodeAsync(_redis.Configuration);
        var receiver = await StartNodeAsync($"127.0.0.1:{proxy.Port.ToString(CultureInfo.InvariantCulture)},connectTimeout=2000{receiverOptions}");
        var member = await JoinAsync(receiver);
        await PublishAsync(publisher, 5);
        Assert.Equal(Offsets(1, 5), (await member.TakeAsync(Room, 5, Deadline)).Select(m => m.Offset()));
        await WaitReadyAsync(receiver, HttpStatusCode.OK);
        return (proxy, publisher, receiver, member);
    }

    private async Task<int> SubscriberPortAsync(TcpProxy proxy)
    {
        var clients = await _redis.BulkCommandAsync("CLIENT", "LIST", "TYPE", "pubsub");
        var proxied = clients.Split('\n')
            .Select(line => ClientAddress().Match(line))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .Where(proxy.UpstreamPorts.Contains)
            .ToArray();
        return Assert.Single(proxied);
    }

    private async Task<TestServer> StartNodeAsync(string configuration)
    {
        var settings = RedisNodes.Settings(configuration);
        settings["Switchboard:Redis:PubSubProbeIntervalSeconds"] = "0.2";
        settings["Switchboard:Redis:PubSubProbeTimeoutSeconds"] = "0.5";
        var node = await TestServer.StartAsync(settings);
        _owned.Add(node);
        return node;
    }

    private async Task<ProtocolClient> JoinAsync(TestServer node)
    {
        var member = await node.ConnectAsync("bob");
        _owned.Add(member);
        var reply = await member.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        return member;
    }

    /// <summary>Publishes <paramref name="count"/> numbered messages through the node's HTTP API; each must be acknowledged.</summary>
    private async Task PublishAsync(TestServer node, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var n = ++_published;
            using var response = await node.Http.PostAsJsonAsync("api/publish", new { room = Room, data = n });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var position = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((ulong)n, position.GetProperty("offset").GetUInt64());
        }
    }

    /// <summary>Polls <c>/readyz</c> until it answers <paramref name="status"/>; returns the body.</summary>
    private static async Task<JsonElement> WaitReadyAsync(TestServer node, HttpStatusCode status, TimeSpan? timeout = null)
    {
        JsonElement body = default;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await node.Http.GetAsync("readyz");
            if (response.StatusCode != status)
            {
                return false;
            }

            body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return true;
        }, $"/readyz answered {(int)status}", timeout ?? Deadline);
        return body;
    }
}
