using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A test client for <c>/ws</c> (or any WebSocket endpoint): a background loop splits every text
/// frame on newlines into JSON messages and queues them; tests await the next one with a timeout.
/// </summary>
public sealed class ProtocolClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Channel<Received> _inbox = Channel.CreateUnbounded<Received>();
    private readonly Task _receiveLoop;
    private readonly List<Received> _skipped = [];
    private int _nextId;

    private ProtocolClient(ClientWebSocket socket)
    {
        Socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public ClientWebSocket Socket { get; }

    /// <summary>Text frames as they arrived, before splitting (to observe batching).</summary>
    public List<string> RawTextFrames { get; } = [];

    /// <summary>Completes when the server closed the connection (or it dropped), with the close status.</summary>
    public TaskCompletionSource<WebSocketCloseStatus?> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<ProtocolClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        configure?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return new ProtocolClient(socket);
    }

    public Task SendAsync(string json) => SendRawAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    public async Task SendRawAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type, bool endOfMessage = true)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await Socket.SendAsync(data, type, endOfMessage, timeout.Token);
    }

    /// <summary>Sends <paramref name="json"/> (an object without its closing brace handled for you) with a fresh id, returns the id.</summary>
    public async Task<int> SendWithIdAsync(string jsonObject)
    {
        var id = Interlocked.Increment(ref _nextId);
        var body = jsonObject.TrimEnd();
        await SendAsync(body[..^1] + (body.Length > 2 ? "," : "") + $"\"id\":{id}}}");
        return id;
    }

    /// <summary>Sends a command with an id and returns its reply or error.</summary>
    public async Task<JsonElement> RequestAsync(string jsonObject)
    {
        var id = await SendWithIdAsync(jsonObject);
        return await ExpectAsync(m => m.TryGetProperty("id", out var got) && got.ValueKind == JsonValueKind.Number && got.GetInt32() == id
            && m.GetProperty("op").GetString() is "reply" or "error");
    }

    /// <summary>The next message not yet consumed, whatever it is.</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null)
    {
        var item = await NextItemAsync(timeout);
        return item.Json ?? throw new InvalidOperationException("received a binary frame where JSON was expected");
    }

    /// <summary>The next frame not yet consumed, which must be binary.</summary>
    public async Task<byte[]> NextBinaryAsync(TimeSpan? timeout = null)
    {
        var item = await NextItemAsync(timeout);
        return item.Binary ?? throw new InvalidOperationException("expected a binary frame, got " + item.Json);
    }

    private async Task<Received> NextItemAsync(TimeSpan? timeout)
    {
        if (_skipped.Count > 0)
        {
            var first = _skipped[0];
            _skipped.RemoveAt(0);
            return first;
        }

        return await _inbox.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? DefaultTimeout);
    }

    /// <summary>
    /// The next message not yet consumed, or null once the connection closed and every message that
    /// came before the close was consumed (then <see cref="Closed"/> holds the close status).
    /// </summary>
    public async Task<JsonElement?> NextOrClosedAsync(CancellationToken cancellationToken)
    {
        if (_skipped.Count > 0)
        {
            var first = _skipped[0];
            _skipped.RemoveAt(0);
            return first.Json ?? throw new InvalidOperationException("received a binary frame where JSON was expected");
        }

        while (await _inbox.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_inbox.Reader.TryRead(out var item))
            {
                return item.Json ?? throw new InvalidOperationException("received a binary frame where JSON was expected");
            }
        }

        return null;
    }

    /// <summary>Skips messages until one with <paramref name="op"/> arrives.</summary>
    public Task<JsonElement> ExpectAsync(string op, TimeSpan? timeout = null) =>
        ExpectAsync(m => m.GetProperty("op").GetString() == op, timeout);

    /// <summary>
    /// The first unconsumed message that matches. Messages passed over stay available, in order, to
    /// later calls, so awaiting a reply never loses the publications that arrived before it.
    /// </summary>
    public async Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var index = _skipped.FindIndex(r => r.Json is { } j && match(j));
        if (index >= 0)
        {
            var found = _skipped[index];
            _skipped.RemoveAt(index);
            return found.Json!.Value;
        }

        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var item = await _inbox.Reader.ReadAsync(deadline.Token);
            if (item.Json is { } json && match(json))
            {
                return json;
            }

            _skipped.Add(item);
        }
    }

    /// <summary>Waits for the server to close the connection and returns the close status it gave.</summary>
    public Task<WebSocketCloseStatus?> WaitForCloseAsync(TimeSpan? timeout = null) => Closed.Task.WaitAsync(timeout ?? DefaultTimeout);

    /// <summary>Closes from the client side with a normal close handshake.</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        if (Socket.State == WebSocketState.Open)
        {
            await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }

        await _receiveLoop.WaitAsync(DefaultTimeout);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await Socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        if (Socket.State == WebSocketState.CloseReceived)
                        {
                            await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        }

                        Closed.TrySetResult(Socket.CloseStatus);
                        _inbox.Writer.TryComplete();
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    _inbox.Writer.TryWrite(new Received(null, message.ToArray()));
                    continue;
                }

                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                lock (RawTextFrames)
                {
                    RawTextFrames.Add(text);
                }

                foreach (var line in text.Split('\n'))
                {
                    _inbox.Writer.TryWrite(new Received(ParseOrRaw(line), null));
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            Closed.TrySetResult(Socket.CloseStatus);
            _inbox.Writer.TryComplete();
        }
    }

    private static JsonElement ParseOrRaw(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            // Plain and echo endpoints carry arbitrary text: surface it as a JSON string.
            return JsonSerializer.SerializeToElement(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        await _receiveLoop.WaitAsync(DefaultTimeout);
    }

    private sealed record Received(JsonElement? Json, byte[]? Binary);
}
