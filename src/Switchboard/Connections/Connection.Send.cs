using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Switchboard.Connections;

public sealed partial class Connection
{
    private long _queuedBytes;
    private int _closing;
    private int _closeCode;
    private string _closeReason = string.Empty;
    private bool _flushBeforeClose;

    /// <summary>
    /// Queues a frame for this connection without waiting. When the queue is over its message or byte
    /// bound the connection is closed as a slow consumer and false is returned; the caller carries on.
    /// </summary>
    public bool TryEnqueue(OutboundFrame frame)
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            return false;
        }

        var queued = Interlocked.Add(ref _queuedBytes, frame.Data.Length);
        if (queued <= _limits.MaxQueuedBytes && _queue.Writer.TryWrite(frame))
        {
            return true;
        }

        Interlocked.Add(ref _queuedBytes, -frame.Data.Length);
        if (Volatile.Read(ref _closing) == 0)
        {
            _metrics.SlowConsumerDisconnects.Add(1);
            Log.SlowConsumer(_logger, Id, User, QueuedMessages, QueuedBytes);
            RequestClose(Protocol.CloseCodes.SlowConsumer, "slow consumer: outbound queue overflow");
        }

        return false;
    }

    /// <summary>
    /// Asks the send loop to close the connection with <paramref name="code"/>. With
    /// <paramref name="flush"/>, frames already queued are written first (graceful drain); without,
    /// they are dropped. If the close handshake has not finished within <paramref name="timeout"/>
    /// (default <c>Limits:CloseTimeoutSeconds</c>) the connection is aborted. Later calls are ignored.
    /// </summary>
    public void RequestClose(int code, string reason, bool flush = false, TimeSpan? timeout = null)
    {
        if (Interlocked.CompareExchange(ref _closing, 1, 0) != 0)
        {
            return;
        }

        _closeCode = code;
        _closeReason = reason;
        _flushBeforeClose = flush;
        _metrics.Closes.Add(1, new KeyValuePair<string, object?>("code", code));
        _queue.Writer.TryComplete();
        try
        {
            _lifetime.CancelAfter(timeout ?? TimeSpan.FromSeconds(_limits.CloseTimeoutSeconds));
        }
        catch (ObjectDisposedException)
        {
            // The owner already finished with this connection.
        }
    }

    /// <summary>
    /// The only code that writes to the socket. Drains the queue, joining consecutive text frames
    /// with newlines into one WebSocket frame where allowed, then sends the requested close frame.
    /// Never throws: a failed write aborts this connection alone.
    /// </summary>
    internal async Task RunSendLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (Volatile.Read(ref _closing) != 0 && !_flushBeforeClose)
                {
                    break;
                }

                await SendNextAsync(reader).ConfigureAwait(false);
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, _lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.SendFailed(_logger, Id, ex.GetType().Name);
            Abort();
        }
    }

    private async ValueTask SendNextAsync(ChannelReader<OutboundFrame> reader)
    {
        if (!reader.TryRead(out var first))
        {
            return;
        }

        Interlocked.Add(ref _queuedBytes, -first.Data.Length);
        var maxBatch = _limits.MaxBatchBytes;
        if (first.IsBinary || !BatchText || !reader.TryPeek(out var next) || next.IsBinary || first.Data.Length + 1 + next.Data.Length > maxBatch)
        {
            await SendAsync(first.Data, first.IsBinary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, 1).ConfigureAwait(false);
            return;
        }

        // Rented only for the duration of one write, so an idle connection holds no send buffer.
        var batch = ArrayPool<byte>.Shared.Rent(maxBatch);
        try
        {
            first.Data.CopyTo(batch, 0);
            var length = first.Data.Length;
            var count = 1;
            while (reader.TryPeek(out next) && !next.IsBinary && length + 1 + next.Data.Length <= maxBatch && reader.TryRead(out next))
            {
                Interlocked.Add(ref _queuedBytes, -next.Data.Length);
                batch[length++] = (byte)'\n';
                next.Data.CopyTo(batch, length);
                length += next.Data.Length;
                count++;
            }

            await SendAsync(batch.AsMemory(0, length), WebSocketMessageType.Text, count).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type, int messages)
    {
        await _socket.SendAsync(data, type, endOfMessage: true, _lifetime.Token).ConfigureAwait(false);
        _metrics.MessagesOut.Add(messages);
        _metrics.BytesOut.Add(data.Length);
    }
}
