using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace KestrelPeer;

/// <summary>One connection: a bounded queue and the one loop that sends from it.</summary>
internal sealed class Member : IDisposable
{
    // Frames queued before the member counts as slow; the same bound as the other peers.
    private const int QueueCapacity = 4096;
    private const int MaxMessageBytes = 64 * 1024;

    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();

    private Member(WebSocket socket) => _socket = socket;

    /// <summary>Owns the connection's whole life: accept, join, both loops, leave.</summary>
    public static async Task RunAsync(HttpContext context, Rooms rooms)
    {
        var room = context.Request.Query["room"].ToString();
        if (!context.WebSockets.IsWebSocketRequest || room.Length == 0)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var member = new Member(socket);
        rooms.Join(room, member);
        var sending = member.SendLoopAsync();
        try
        {
            await member.ReceiveLoopAsync(room, rooms);
        }
        finally
        {
            rooms.Leave(room, member);
            member._queue.Writer.TryComplete();
            await sending;
            await member.AnswerCloseAsync();
        }
    }

    public void Dispose() => _abort.Dispose();

    public void Enqueue(byte[] message)
    {
        if (!_queue.Writer.TryWrite(message))
        {
            // A full queue is a slow client: abort it rather than block the sender.
            _abort.Cancel();
        }
    }

    private async Task ReceiveLoopAsync(string room, Rooms rooms)
    {
        try
        {
            while (true)
            {
                // A zero-byte read waits for data without holding a buffer, so idle members cost no buffer.
                var ready = await _socket.ReceiveAsync(Memory<byte>.Empty, _abort.Token);
                if (ready.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var message = await ReadMessageAsync();
                if (message is null)
                {
                    return;
                }

                if (message.Length > 0)
                {
                    rooms.Broadcast(room, message);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away or was too slow: only this connection ends.
        }
    }

    private async Task<byte[]?> ReadMessageAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessageBytes);
        try
        {
            var length = 0;
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(length), _abort.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                length += result.Count;
                if (result.EndOfMessage)
                {
                    return result.MessageType == WebSocketMessageType.Text ? buffer.AsSpan(0, length).ToArray() : [];
                }

                if (length == buffer.Length)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Answers the client's close once the send loop is done, so the close is the last frame written.</summary>
    private async Task AnswerCloseAsync()
    {
        if (_socket.State != WebSocketState.CloseReceived)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client is gone already; nothing is left to tell it.
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var message in _queue.Reader.ReadAllAsync(_abort.Token))
            {
                await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, _abort.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // A failed write ends this connection only.
            await _abort.CancelAsync();
        }
    }
}
