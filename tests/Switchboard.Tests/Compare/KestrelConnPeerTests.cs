using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using KestrelConnPeer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Compare;

/// <summary>
/// The comparison's peer below HTTP (<c>bench/peers/KestrelConnPeer</c>), on a real Kestrel on
/// 127.0.0.1: its hand-written upgrade and framing against .NET's own WebSocket client, and what it
/// refuses. The smoke run (<see cref="CompareSmokeTests"/>) proves delivery under the load tool.
/// </summary>
[Trait("Category", "integration")]
public sealed class KestrelConnPeerTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // The peer's bound is internal to it: 8 KiB, as its UpgradeRequest.MaxHeaderBytes says.
    private const int UpgradeRequestBound = 8 * 1024;

    private WebApplication? _app;
    private ListenOptions? _listener;

    private Uri Server => new($"ws://127.0.0.1:{((IPEndPoint)_listener!.EndPoint).Port}");

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Rooms>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            _listener = listen;
            listen.UseConnectionHandler<WebSocketConnectionHandler>();
        }));
        _app = builder.Build();
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task AFragmentedMessageReachesEveryMemberAsOneMessageAndACloseIsEchoed()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        using var sender = new ClientWebSocket();
        using var other = new ClientWebSocket();
        await sender.ConnectAsync(new Uri(Server, "/ws?room=r%201"), deadline.Token);
        await other.ConnectAsync(new Uri(Server, "/ws?room=r%201"), deadline.Token);
        var rooms = _app!.Services.GetRequiredService<Rooms>();
        // The peer joins a member just after writing its 101, so the client can be told first.
        await Eventually.TrueAsync(() => rooms.MemberCount == 2, "both members joined", Timeout);

        await sender.SendAsync("hel"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: false, deadline.Token);
        await sender.SendAsync("lo"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, deadline.Token);

        Assert.Equal("hello", await ReceiveWholeFrameAsync(sender, deadline.Token));
        Assert.Equal("hello", await ReceiveWholeFrameAsync(other, deadline.Token));
        await sender.CloseAsync(WebSocketCloseStatus.NormalClosure, null, deadline.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, sender.CloseStatus);
    }

    [Fact]
    public async Task AnUpgradeRequestWithoutTheWebSocketHeadersIsAnswered400AndClosed()
    {
        var answer = await SendRawAsync("GET /ws?room=r HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUpgradeRequestLongerThanItsBoundIsAnswered400AndClosed()
    {
        var endless = "GET /ws?room=r HTTP/1.1\r\nX-Padding: " + new string('a', UpgradeRequestBound + 1024);

        var answer = await SendRawAsync(endless);

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnmaskedClientFrameIsClosedWithProtocolError()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Server.Port, deadline.Token);
        await using var stream = new NetworkStream(socket);
        await RawUpgrade.PerformAsync(stream, Server, "/ws?room=r", deadline.Token);

        await stream.WriteAsync(new byte[] { 0x81, 0x02, (byte)'h', (byte)'i' }, deadline.Token);

        var close = new byte[4];
        await stream.ReadExactlyAsync(close, deadline.Token);
        Assert.Equal(new byte[] { 0x88, 0x02, 1002 >> 8, 1002 & 0xFF }, close);
    }

    /// <summary>Sends raw bytes and reads everything until the server ends the connection.</summary>
    private async Task<string> SendRawAsync(string request)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Server.Port, deadline.Token);
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), deadline.Token);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, deadline.Token);
        return Encoding.ASCII.GetString(answer.ToArray());
    }

    private static async Task<string> ReceiveWholeFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, cancellationToken);
        Assert.True(result.EndOfMessage, "one frame per message");
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }
}
