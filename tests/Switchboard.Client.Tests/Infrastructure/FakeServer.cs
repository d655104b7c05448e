using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>
/// A scripted WebSocket peer on Kestrel, for what a real node does not do on demand: a chosen batch
/// of messages in one frame, or a connection that dies between a command and its reply.
/// </summary>
public sealed class FakeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeServer(WebApplication app, Uri uri)
    {
        _app = app;
        WsUri = uri;
    }

    public Uri WsUri { get; }

    public static async Task<FakeServer> StartAsync(Func<FakePeer, Task> script)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync("switchboard.v1");
            await script(new FakePeer(socket));
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new FakeServer(app, new Uri($"ws://127.0.0.1:{new Uri(address).Port}/ws"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

/// <summary>The server side of one connection to a <see cref="FakeServer"/>.</summary>
public sealed class FakePeer(WebSocket socket)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Queue<JsonElement> _pending = new();

    public WebSocket Socket { get; } = socket;

    public Task SendTextAsync(string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(Timeout);

    public Task SendWelcomeAsync(string user = "alice") =>
        SendTextAsync($$"""{"op":"welcome","session":"fake","user":"{{user}}","ping":25}""");

    /// <summary>Reads and discards frames until the client's close frame arrives.</summary>
    public async Task DrainUntilCloseAsync()
    {
        var buffer = new byte[4096];
        while ((await Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Timeout)).MessageType != WebSocketMessageType.Close)
        {
        }
    }

    /// <summary>Reads the next command (one line of a possibly batched text frame).</summary>
    public async Task<JsonElement> ReceiveCommandAsync()
    {
        if (_pending.Count > 0)
        {
            return _pending.Dequeue();
        }

        var buffer = new byte[64 * 1024];
        var length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), CancellationToken.None).WaitAsync(Timeout);
            length += result.Count;
        }
        while (!result.EndOfMessage);

        foreach (var line in Encoding.UTF8.GetString(buffer, 0, length).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            _pending.Enqueue(JsonDocument.Parse(line).RootElement.Clone());
        }

        return _pending.Dequeue();
    }
}
