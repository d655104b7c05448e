using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using Switchboard.Load.Client;

namespace Switchboard.Load.Compare;

/// <summary>
/// One client connection to any target. It owns its socket: connect (and, for SignalR, the
/// handshake), one receive loop that counts markers into the run's <see cref="DeliveryTally"/>,
/// sends by one caller at a time, and a close that waits for the server's answer.
/// </summary>
internal sealed class PeerClient
{
    private const int ReadBytes = 16 * 1024;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly ClientWebSocket _socket;
    private readonly DeliveryTally _tally;
    private readonly TaskCompletionSource _firstMarker = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MarkerScanner _scanner;
    private Task _receiving = Task.CompletedTask;
    private long _markers;

    private PeerClient(ClientWebSocket socket, DeliveryTally tally)
    {
        _socket = socket;
        _tally = tally;
    }

    /// <summary>Messages (probes included) this client received.</summary>
    public long Markers => Volatile.Read(ref _markers);

    /// <summary>Completes when the first message (probe or not) arrives: proof the client is in its room.</summary>
    public Task FirstMarker => _firstMarker.Task;

    /// <summary>The close code the server sent, if it closed first.</summary>
    public WebSocketCloseStatus? ServerCloseStatus { get; private set; }

    public static async Task<PeerClient> ConnectAsync(WebSocketConnector connector, Uri uri, PeerProtocol protocol, DeliveryTally tally, CancellationToken cancellationToken)
    {
        var socket = await connector.ConnectAsync(uri, cancellationToken);
        var client = new PeerClient(socket, tally);
        try
        {
            if (protocol == PeerProtocol.SignalR)
            {
                await client.HandshakeAsync(cancellationToken);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        client._receiving = client.ReceiveLoopAsync();
        return client;
    }

    /// <summary>Sends one frame; the caller makes sure sends of one client never overlap.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Sends a close frame and waits (bounded) for the server's; then the socket is gone either way.</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }

            await _receiving.WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // A server that does not answer the close in time is cut off; the run goes on.
        }
        finally
        {
            _socket.Dispose();
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);
        await _socket.SendAsync(WireText.SignalRHandshake, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[1024];
        var length = 0;
        while (Array.IndexOf(buffer, WireText.RecordSeparator, 0, length) < 0)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close || (length += result.Count) == buffer.Length)
            {
                throw new WebSocketException("the SignalR handshake was not answered");
            }
        }

        // The answer is "{}" followed by the separator; anything else carries an "error".
        if (buffer.AsSpan(0, length).IndexOf("error"u8) >= 0)
        {
            throw new WebSocketException($"SignalR refused the handshake: {System.Text.Encoding.UTF8.GetString(buffer, 0, length)}");
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                // A zero-byte read waits for data without holding a buffer: 18,000 idle clients hold none.
                var ready = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (ready.MessageType == WebSocketMessageType.Close)
                {
                    ServerCloseStatus = _socket.CloseStatus;
                    return;
                }

                if (!await ReadFrameAsync())
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is gone; its counts stand.
        }
    }

    private async Task<bool> ReadFrameAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBytes);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ServerCloseStatus = _socket.CloseStatus;
                    return false;
                }

                var sink = new Sink(this, Stopwatch.GetTimestamp());
                _scanner.Feed(buffer.AsSpan(0, result.Count), ref sink);
                if (result.EndOfMessage)
                {
                    _scanner.EndOfFrame(ref sink);
                    return true;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private readonly struct Sink(PeerClient client, long now) : IMarkerSink
    {
        public void Marker(long timestamp, long sequence)
        {
            if (Interlocked.Increment(ref client._markers) == 1)
            {
                client._firstMarker.TrySetResult();
            }

            client._tally.Delivered(timestamp, sequence, now);
        }
    }
}
