using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using StackExchange.Redis;
using Switchboard.Protocol;
using Switchboard.Telemetry;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis;
using Xunit;
using StreamPosition = Switchboard.Protocol.StreamPosition;

namespace Switchboard.Tests.Telemetry;

/// <summary>The publisher's trace context crossing Redis: a publish on one node and its delivery on another share one trace.</summary>
[Trait("Category", "external")]
public sealed class CrossNodeTracingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task APublishOnOneNodeAndItsDeliveryOnAnotherNodeShareOneTrace()
    {
        using var traces = new TraceCollector();
        await using var cluster = await RedisCluster.StartAsync(2);
        var room = Unique("cross");
        await using var onA = await cluster.Nodes[0].ConnectAsync(Unique("a"));
        await using var onB = await cluster.Nodes[1].ConnectAsync(Unique("b"));
        await onA.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        await onB.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");

        var upstream = traces.NewTrace();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { room, data = "across" }) };
        request.Headers.Add("traceparent", upstream.Header);
        using var response = await cluster.Nodes[0].Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("across", (await onB.ExpectAsync("message")).GetProperty("data").GetString());
        Assert.Equal("across", (await onA.ExpectAsync("message")).GetProperty("data").GetString());

        var publish = await traces.SpanAsync(s => s.OperationName == SwitchboardTracing.PublishSpan && s.TraceId == upstream.TraceId, "publish on node A");
        // One delivery per node, both children of the publish span. Node B's parent can only have come
        // from Redis, so it is remote; node A's may too, when the room's worker takes the publication
        // back from the channel before the publish call hands it over (whichever comes first delivers).
        var deliveries = await traces.SpansAsync(s => s.OperationName == SwitchboardTracing.DeliverSpan && s.TraceId == upstream.TraceId, 2, "delivery on each node");
        Assert.All(deliveries, delivery => Assert.Equal(publish.SpanId, delivery.ParentSpanId));
        var remote = Assert.Single(deliveries.Where(d => d.HasRemoteParent).Take(1));
        Assert.Equal(ActivityKind.Consumer, remote.Kind);
        Assert.Equal(room, remote.GetTagItem("messaging.destination.name"));
        Assert.Equal("process", remote.GetTagItem("messaging.operation.type"));
        Assert.Equal(1L, remote.GetTagItem("switchboard.offset"));
        Assert.Equal(1, remote.GetTagItem("switchboard.recipients"));
    }

    [Fact]
    public async Task OnlyAPublishSpanAddsItsContextToThePublicationAndOldEntriesStillDecode()
    {
        await using var redis = await RedisServer.StartAsync();
        var room = Unique("format");
        var publisherHandler = new RecordingHandler();
        var receiverHandler = new RecordingHandler();
        await using var publisher = await RedisNodes.StartBrokerAsync(redis, publisherHandler);
        await using var receiver = await RedisNodes.StartBrokerAsync(redis, receiverHandler);
        await receiver.SubscribeRoomAsync(room, CancellationToken.None).AsTask().WaitAsync(Timeout);

        // Nobody traces: nothing current.
        Assert.Null(Activity.Current);
        await publisher.PublishAsync(room, "alice", "1"u8.ToArray(), isBinary: false, CancellationToken.None).AsTask().WaitAsync(Timeout);

        // Something else is current (as ASP.NET Core's request activity is whenever logging is on): still nothing.
        using (new Activity("not-switchboard").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            await publisher.PublishAsync(room, "alice", "2"u8.ToArray(), isBinary: false, CancellationToken.None).AsTask().WaitAsync(Timeout);
        }

        // A publish span: its context goes along, tracestate included.
        using var traces = new TraceCollector();
        var upstream = traces.NewTrace();
        string traceparent;
        StreamPosition position;
        using (var publish = SwitchboardTracing.Source.StartActivity(SwitchboardTracing.PublishSpan, ActivityKind.Producer, upstream.Context))
        {
            Assert.NotNull(publish);
            publish.TraceStateString = "congo=t61rcWkgMzE,rojo=00f0 67aa";
            traceparent = publish.Id!;
            position = await publisher.PublishAsync(room, "alice", "3"u8.ToArray(), isBinary: false, CancellationToken.None).AsTask().WaitAsync(Timeout);
        }

        await Eventually.TrueAsync(() => receiverHandler.Offsets(room).Length == 3, "the other node received the three publications");
        var received = receiverHandler.Publications(room);
        Assert.Equal(["1", "2", "3"], received.Select(p => Encoding.UTF8.GetString(p.Payload.Span)));
        Assert.Equal(default, received[0].TraceContext);
        Assert.Equal(default, received[1].TraceContext);
        var carried = received[2].TraceContext;
        Assert.Equal(upstream.TraceId, carried.TraceId);
        Assert.Equal(traceparent, $"00-{carried.TraceId}-{carried.SpanId}-01");
        Assert.Equal("congo=t61rcWkgMzE,rojo=00f0 67aa", carried.TraceState);
        Assert.True(carried.IsRemote);

        // What Redis holds: the first two exactly as before this format existed.
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        // StackExchange.Redis 1.2.6 predates streams: scripts read and write them.
        var entries = (RedisResult[])(await database.ScriptEvaluateAsync("return redis.call('XRANGE', KEYS[1], '-', '+')", [publisher.Keys.Stream(room)]))!;
        var lines = entries.Select(e => Encoding.ASCII.GetString((byte[])((RedisResult[])((RedisResult[])e!)[1]!)[3]!).Split('\n')).ToArray();
        Assert.EndsWith(" t alice", lines[0][0], StringComparison.Ordinal);
        Assert.Equal(2, lines[0].Length);
        Assert.EndsWith(" t alice", lines[1][0], StringComparison.Ordinal);
        Assert.EndsWith(" tc alice", lines[2][0], StringComparison.Ordinal);
        Assert.Equal(traceparent + " congo=t61rcWkgMzE,rojo=00f0 67aa", lines[2][1]);
        Assert.Equal("3", lines[2][2]);

        // An entry written in the old format by an older node reads as ever.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await database.ScriptEvaluateAsync(
            "redis.call('HINCRBY', KEYS[1], 'top', 1) return redis.call('XADD', KEYS[2], '4-0', 't', ARGV[1], 'p', ARGV[2])",
            [publisher.Keys.Meta(room), publisher.Keys.Stream(room)],
            [now, $"4 {position.Epoch} {now} t bob\n\"old\""]);
        var read = await receiver.ReadStreamAsync(room, new StreamPosition(2, position.Epoch), 10, CancellationToken.None).AsTask().WaitAsync(Timeout);
        Assert.True(read.Recovered);
        Assert.Equal([3UL, 4UL], read.Publications.Select(p => p.Offset));
        Assert.Equal("3", Encoding.UTF8.GetString(read.Publications[0].Payload.Span));
        Assert.Equal("bob", read.Publications[1].From);
        Assert.Equal("\"old\"", Encoding.UTF8.GetString(read.Publications[1].Payload.Span));
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
