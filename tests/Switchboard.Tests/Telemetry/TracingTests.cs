using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Telemetry;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Telemetry;

/// <summary>
/// The spans of one node (in-memory broker): connect, join with its recovery, publish from both doors
/// and the delivery. Each test records only its own traces (see <see cref="TraceCollector"/>).
/// </summary>
[Trait("Category", "integration")]
public sealed class TracingTests : IAsyncLifetime, IDisposable
{
    private const string RequestSpan = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    private readonly TraceCollector _traces = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerUser"] = "1" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _traces.Dispose();

    [Fact]
    public async Task ConnectIsAChildOfTheUpgradeRequestAndEndsOnceTheSessionIsWelcomed()
    {
        var upstream = _traces.NewTrace();
        var user = Unique("connector");
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws?user=" + user), o => o.SetRequestHeader("traceparent", upstream.Header));
        var welcome = await client.ExpectAsync("welcome");

        // Recorded while the connection is still open: the span does not last the connection's life.
        var connect = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.ConnectSpan && s.TraceId == upstream.TraceId, "connect");
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        Assert.Equal(ActivityKind.Internal, connect.Kind);
        Assert.Equal(ActivityStatusCode.Unset, connect.Status);
        Assert.Equal(welcome.GetProperty("session").GetString(), connect.GetTagItem("switchboard.session"));
        Assert.Equal(user, connect.GetTagItem("user.id"));
        // Its parent is the upgrade request's span, which continues the caller's trace.
        Assert.NotNull(connect.Parent);
        Assert.Equal(RequestSpan, connect.Parent!.OperationName);
        Assert.Equal(connect.Parent.SpanId, connect.ParentSpanId);
        Assert.Equal(upstream.SpanId, connect.Parent.ParentSpanId);

        // The session's commands start traces of their own, not children of the connect or the request.
        var room = Unique("after-connect");
        _traces.Watch(room);
        await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        var join = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.JoinSpan && Equals(s.GetTagItem("messaging.destination.name"), room), "join");
        Assert.NotEqual(upstream.TraceId, join.TraceId);
        Assert.Equal(default, join.ParentSpanId);
        Assert.Equal(connect.GetTagItem("switchboard.session"), join.GetTagItem("switchboard.session"));
    }

    [Fact]
    public async Task ARefusedConnectIsAnErrorWithItsCloseCode()
    {
        var user = Unique("twice");
        await using var first = await _server.ConnectAsync(user);
        var upstream = _traces.NewTrace();
        await using var second = await ProtocolClient.ConnectAsync(_server.Ws("ws?user=" + user), o => o.SetRequestHeader("traceparent", upstream.Header));
        Assert.Equal((WebSocketCloseStatus)CloseCodes.TooManyConnections, await second.WaitForCloseAsync());

        var connect = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.ConnectSpan && s.TraceId == upstream.TraceId, "refused connect");
        Assert.Equal(ActivityStatusCode.Error, connect.Status);
        Assert.Equal(CloseCodes.TooManyConnections, connect.GetTagItem("switchboard.close_code"));
        Assert.Null(connect.GetTagItem("switchboard.session"));
    }

    [Fact]
    public async Task JoinRecordsItsRoomAndWhatRecoveryFoundInAStreamReadChild()
    {
        var room = Unique("recover");
        string epoch = "";
        for (var n = 0; n < 3; n++)
        {
            using var response = await _server.Http.PostAsJsonAsync("api/publish", new { room, data = n });
            epoch = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("epoch").GetString()!;
        }

        _traces.Watch(room);
        await using var client = await _server.ConnectAsync(Unique("recoverer"));
        var reply = await client.RequestAsync($$$"""{"op":"join","room":"{{{room}}}","since":{"offset":1,"epoch":"{{{epoch}}}"}}""");
        Assert.True(reply.GetProperty("recovered").GetBoolean());

        var join = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.JoinSpan && Equals(s.GetTagItem("messaging.destination.name"), room), "join");
        Assert.Equal(ActivityStatusCode.Unset, join.Status);
        Assert.Equal(true, join.GetTagItem("switchboard.recovery.requested"));
        Assert.Equal(true, join.GetTagItem("switchboard.recovery.recovered"));
        Assert.Equal(2, join.GetTagItem("switchboard.publications"));
        Assert.Equal(3L, join.GetTagItem("switchboard.offset"));
        var read = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.StreamReadSpan && s.TraceId == join.TraceId, "stream read");
        Assert.Equal(join.SpanId, read.ParentSpanId);
        Assert.Equal(true, read.GetTagItem("switchboard.recovery.recovered"));
    }

    [Fact]
    public async Task APublishOverTheHttpApiIsAChildOfItsRequestAndItsDeliveryContinuesTheTrace()
    {
        var room = Unique("api");
        await using var member = await _server.ConnectAsync(Unique("member"));
        await member.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");

        var upstream = _traces.NewTrace();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { room, data = "traced" }) };
        request.Headers.Add("traceparent", upstream.Header);
        using var response = await _server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("traced", (await member.ExpectAsync("message")).GetProperty("data").GetString());

        var http = await _traces.SpanAsync(s => s.OperationName == RequestSpan && s.TraceId == upstream.TraceId, "request");
        var publish = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.PublishSpan && s.TraceId == upstream.TraceId, "publish");
        var deliver = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.DeliverSpan && s.TraceId == upstream.TraceId, "deliver");
        Assert.Equal(upstream.SpanId, http.ParentSpanId);
        Assert.Equal(http.SpanId, publish.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(room, publish.GetTagItem("messaging.destination.name"));
        Assert.Equal("switchboard", publish.GetTagItem("messaging.system"));
        Assert.Equal("send", publish.GetTagItem("messaging.operation.type"));
        Assert.Equal(1L, publish.GetTagItem("switchboard.offset"));
        Assert.Null(publish.GetTagItem("user.id"));
        Assert.Equal(publish.SpanId, deliver.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, deliver.Kind);
        Assert.Equal("process", deliver.GetTagItem("messaging.operation.type"));
        Assert.Equal(1, deliver.GetTagItem("switchboard.recipients"));
        // One delivery span for the publication, not one per member.
        Assert.Single(_traces.Spans, s => s.OperationName == SwitchboardTracing.DeliverSpan && s.TraceId == upstream.TraceId);
    }

    [Fact]
    public async Task APublishOverTheWebSocketStartsATraceThatItsDeliveryToEveryMemberContinues()
    {
        var room = Unique("ws");
        var user = Unique("publisher");
        _traces.Watch(room);
        await using var publisher = await _server.ConnectAsync(user);
        await using var other = await _server.ConnectAsync(Unique("other"));
        await publisher.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        await other.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");

        var reply = await publisher.RequestAsync($$"""{"op":"publish","room":"{{room}}","data":1}""");
        Assert.Equal(1UL, reply.GetProperty("offset").GetUInt64());
        await other.ExpectAsync("message");

        var publish = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.PublishSpan && Equals(s.GetTagItem("messaging.destination.name"), room), "publish");
        Assert.Equal(default, publish.ParentSpanId);
        Assert.Equal(user, publish.GetTagItem("user.id"));
        var deliver = await _traces.SpanAsync(s => s.OperationName == SwitchboardTracing.DeliverSpan && s.TraceId == publish.TraceId, "deliver");
        Assert.Equal(publish.SpanId, deliver.ParentSpanId);
        Assert.Equal(2, deliver.GetTagItem("switchboard.recipients"));
    }

    [Fact]
    public async Task TheOtherHttpApiCallsAreSpansNamedForTheirOperationUnderTheirRequest()
    {
        var room = Unique("reads");
        var cases = new (string Path, HttpMethod Method, object? Body, string Span)[]
        {
            ("api/send", HttpMethod.Post, new { user = Unique("nobody"), data = 1 }, SwitchboardTracing.SendSpan),
            ($"api/rooms/{room}/presence", HttpMethod.Get, null, SwitchboardTracing.PresenceSpan),
            ($"api/rooms/{room}/history", HttpMethod.Get, null, SwitchboardTracing.HistorySpan),
            ("api/rooms", HttpMethod.Get, null, SwitchboardTracing.RoomsSpan),
        };
        foreach (var (path, method, body, span) in cases)
        {
            var upstream = _traces.NewTrace();
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            request.Headers.Add("traceparent", upstream.Header);
            using var response = await _server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            var http = await _traces.SpanAsync(s => s.OperationName == RequestSpan && s.TraceId == upstream.TraceId, "request of " + path);
            var operation = await _traces.SpanAsync(s => s.OperationName == span && s.TraceId == upstream.TraceId, span);
            Assert.Equal(http.SpanId, operation.ParentSpanId);
        }
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
