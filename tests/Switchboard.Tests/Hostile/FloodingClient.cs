using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A <c>/ws</c> client that sends one command after another without waiting for answers, and reads
/// everything the server sends only to count it: rate_limited errors, and the reply to the id it
/// marks the end of its flood with. It keeps nothing, so it can flood for as long as a test needs.
/// </summary>
internal sealed class FloodingClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] RateLimited = Encoding.UTF8.GetBytes("\"code\":\"rate_limited\"");

    private readonly ClientWebSocket _socket;
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _endSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receiveLoop;
    private long _rateLimited;
    private byte[]? _endMarker;

    private FloodingClient(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>rate_limited errors received so far.</summary>
    public long RateLimitedErrors => Interlocked.Read(ref _rateLimited);

    /// <summary>Completes when the server closed the connection, with the status it sent.</summary>
    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    public static async Task<FloodingClient> ConnectAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(uri, timeout.Token);
            return new FloodingClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one command and returns as soon as it is written, without waiting for any answer.</summary>
    public async Task SendAsync(string json)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>
    /// Sends a presence query with id <paramref name="id"/> behind everything already sent, and waits
    /// for its reply: the server handles a connection's commands in order, so then it has handled them all.
    /// </summary>
    public async Task SendAndAwaitEndMarkerAsync(string room, string id, TimeSpan timeout)
    {
        Volatile.Write(ref _endMarker, Encoding.UTF8.GetBytes($"\"id\":\"{id}\""));
        await SendAsync($$"""{"op":"presence","room":"{{room}}","id":"{{id}}"}""");
        await _endSeen.Task.WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        await _receiveLoop.WaitAsync(Timeout);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var status = _socket.CloseStatus;
                    using var timeout = new CancellationTokenSource(Timeout);
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    _closed.TrySetResult(status);
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var data = message.GetBuffer().AsSpan(0, (int)message.Length);
                Interlocked.Add(ref _rateLimited, Count(data, RateLimited));
                if (Volatile.Read(ref _endMarker) is { } marker && data.IndexOf(marker) >= 0)
                {
                    _endSeen.TrySetResult();
                }

                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _closed.TrySetResult(_socket.CloseStatus);
        }
    }

    private static int Count(ReadOnlySpan<byte> data, ReadOnlySpan<byte> pattern)
    {
        var count = 0;
        int at;
        while ((at = data.IndexOf(pattern)) >= 0)
        {
            count++;
            data = data[(at + pattern.Length)..];
        }

        return count;
    }
}
