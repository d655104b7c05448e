using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A <c>/ws</c> client for the fuzz test: sends a <see cref="MalformedFrame"/> fragment by fragment,
/// keeps every frame the server sends (text or binary) in arrival order, and records the close status.
/// Unlike <see cref="ProtocolClient"/> it keeps nothing it has handed out, so thousands of cases
/// cost nothing per case.
/// </summary>
internal sealed class FuzzConnection : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly Channel<ReceivedFrame> _inbox = Channel.CreateUnbounded<ReceivedFrame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receiveLoop;

    private FuzzConnection(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Completes when the connection ended, with the close status the server sent (null when it dropped without one).</summary>
    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    public static async Task<FuzzConnection> ConnectAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(uri, timeout.Token);
            return new FuzzConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="frame"/> as its fragments, the last one ending the message.</summary>
    public async Task SendAsync(MalformedFrame frame)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var fragments = frame.Fragments().ToArray();
        for (var i = 0; i < fragments.Length; i++)
        {
            await _socket.SendAsync(fragments[i], frame.Type, endOfMessage: i == fragments.Length - 1, timeout.Token);
        }
    }

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>
    /// Hands every received frame to <paramref name="observe"/> until a text frame holds
    /// <c>"id":"<paramref name="id"/>"</c>: true then, false when the connection ended first.
    /// </summary>
    public async Task<bool> ReadUntilReplyAsync(string id, Action<ReceivedFrame> observe, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(observe);
        var marker = Encoding.UTF8.GetBytes($"\"id\":\"{id}\"");
        using var deadline = new CancellationTokenSource(timeout);
        while (await _inbox.Reader.WaitToReadAsync(deadline.Token))
        {
            while (_inbox.Reader.TryRead(out var frame))
            {
                observe(frame);
                if (frame.Type == WebSocketMessageType.Text && frame.Data.AsSpan().IndexOf(marker) >= 0)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Hands every frame still unread to <paramref name="observe"/>.</summary>
    public void DrainTo(Action<ReceivedFrame> observe)
    {
        ArgumentNullException.ThrowIfNull(observe);
        while (_inbox.Reader.TryRead(out var frame))
        {
            observe(frame);
        }
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
        try
        {
            using var message = new MemoryStream();
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var status = _socket.CloseStatus;
                    await AnswerCloseAsync();
                    _closed.TrySetResult(status);
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    _inbox.Writer.TryWrite(new ReceivedFrame(result.MessageType, message.ToArray()));
                    message.SetLength(0);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _closed.TrySetResult(_socket.CloseStatus);
        }
        finally
        {
            _inbox.Writer.TryComplete();
        }
    }

    private async Task AnswerCloseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The server may already have dropped the TCP connection after its close frame (it does
            // after 1007); the status it sent is what the test checks.
        }
    }
}
