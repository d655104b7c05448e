using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A <c>/ws</c> client that sends one command after another without waiting for answers, and reads
/// everything the server sends only to count it: rate_limited errors, and the reply to the id it
/// marks the end of its flood with. It keeps nothing, so it can flood for as long as a test needs.
/// </summary>
/// <remarks>
/// The end marker is a command too, charged to the same command bucket as the flood: sent right after
/// a flood the server was keeping up with, it finds the bucket dry and is refused. That refusal is not
/// one of the flood's, so it is not counted, and the marker is sent again on each refusal until a
/// reply answers it (on a busy machine the flood runs until the very end and this is the usual case).
/// </remarks>
internal sealed class FloodingClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] RateLimited = Encoding.UTF8.GetBytes("\"code\":\"rate_limited\"");
    private static readonly byte[] Reply = Encoding.UTF8.GetBytes("\"op\":\"reply\"");

    private readonly ClientWebSocket _socket;
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _endSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receiveLoop;
    private long _rateLimited;
    private byte[]? _endMarker;
    private string? _endMarkerCommand;
    private long _endMarkerRefusals;

    private FloodingClient(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>rate_limited errors received so far for the flood's own commands (not for the end marker).</summary>
    public long RateLimitedErrors => Interlocked.Read(ref _rateLimited);

    /// <summary>How many times the end marker itself was refused and sent again.</summary>
    public long EndMarkerRefusals => Interlocked.Read(ref _endMarkerRefusals);

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
    /// A refusal of the query itself (the command bucket the flood drained) sends it again.
    /// </summary>
    public async Task SendAndAwaitEndMarkerAsync(string room, string id, TimeSpan timeout)
    {
        var command = $$"""{"op":"presence","room":"{{room}}","id":"{{id}}"}""";
        // Each marker waits for its own reply: one completed by an earlier marker would return at once,
        // before the server has handled the commands sent since.
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _endSeen, seen);
        Volatile.Write(ref _endMarkerCommand, command);
        Volatile.Write(ref _endMarker, Encoding.UTF8.GetBytes($"\"id\":\"{id}\""));
        await SendAsync(command);
        await seen.Task.WaitAsync(timeout);
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

                var resend = CountLines(message.GetBuffer().AsSpan(0, (int)message.Length));
                message.SetLength(0);
                if (resend)
                {
                    using var timeout = new CancellationTokenSource(Timeout);
                    await _socket.SendAsync(Encoding.UTF8.GetBytes(Volatile.Read(ref _endMarkerCommand)!), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _closed.TrySetResult(_socket.CloseStatus);
        }
    }

    /// <summary>
    /// Counts the flood's refusals in one frame, line by line (the server batches messages one per
    /// line), and notes the end marker's reply. Returns true when the end marker itself was refused.
    /// </summary>
    private bool CountLines(ReadOnlySpan<byte> data)
    {
        var marker = Volatile.Read(ref _endMarker);
        var markerRefused = false;
        while (!data.IsEmpty)
        {
            var end = data.IndexOf((byte)'\n');
            var line = end < 0 ? data : data[..end];
            data = end < 0 ? [] : data[(end + 1)..];
            var refused = line.IndexOf(RateLimited) >= 0;
            if (marker is not null && line.IndexOf(marker) >= 0)
            {
                if (refused)
                {
                    Interlocked.Increment(ref _endMarkerRefusals);
                    markerRefused = true;
                }
                else if (line.IndexOf(Reply) >= 0)
                {
                    Volatile.Read(ref _endSeen).TrySetResult();
                }
            }
            else if (refused)
            {
                Interlocked.Increment(ref _rateLimited);
            }
        }

        return markerRefused;
    }
}
