using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Switchboard.Connections;

public sealed partial class Connection
{
    private long _queuedBytes;
    private CloseRequest? _close;

    /// <summary>Whether the session is closing: nothing more is queued, and no inbound command runs.</summary>
    public bool IsClosing => Volatile.Read(ref _close) is not null;

    /// <summary>The close request, once there is one.</summary>
    public CloseRequest? Close => Volatile.Read(ref _close);

    /// <summary>
    /// Queues a frame for this connection without waiting. When the queue is over its message or byte
    /// bound the connection is closed as a slow consumer and false is returned; the caller carries on.
    /// </summary>
    public bool TryEnqueue(OutboundFrame frame)
    {
        if (IsClosing)
        {
            return false;
        }

        var queued = Interlocked.Add(ref _queuedBytes, frame.Data.Length);
        if (queued <= _limits.MaxQueuedBytes && _queue.TryWrite(frame))
        {
            return true;
        }

        Interlocked.Add(ref _queuedBytes, -frame.Data.Length);
        CloseAsSlowConsumer("slow consumer: outbound queue overflow");
        return false;
    }

    /// <summary>Closes the session with 4000: it could not take what it was sent fast enough.</summary>
    internal void CloseAsSlowConsumer(string reason)
    {
        if (IsClosing)
        {
            return;
        }

        _metrics.SlowConsumerDisconnects.Add(1);
        Log.SlowConsumer(_logger, Id, User, QueuedMessages, QueuedBytes);
        RequestClose(Protocol.CloseCodes.SlowConsumer, reason);
    }

    /// <summary>
    /// Asks the send loop to close the connection with <paramref name="code"/>. With
    /// <paramref name="flush"/>, frames already queued are written first (graceful drain); without,
    /// they are dropped. If the close handshake has not finished within <paramref name="timeout"/>
    /// (default <c>Limits:CloseTimeoutSeconds</c>) the connection is aborted. Later calls are ignored.
    /// </summary>
    public void RequestClose(int code, string reason, bool flush = false, TimeSpan? timeout = null)
    {
        if (Interlocked.CompareExchange(ref _close, new CloseRequest(code, reason, flush), null) is not null)
        {
            return;
        }

        _metrics.Closes.Add(1, new KeyValuePair<string, object?>("code", code));
        _queue.TryComplete();
        try
        {
            // The idle receive waits without this token (a registration per idle connection would
            // be kept for its whole life), so the close timeout aborts the transport itself rather
            // than rely on whatever the transport does with the token its close write was given;
            // the registration costs only connections that are closing.
            _lifetime.Token.UnsafeRegister(static transport => ((ITransport)transport!).Abort(), _transport);
            _lifetime.CancelAfter(timeout ?? TimeSpan.FromSeconds(_limits.CloseTimeoutSeconds));
        }
        catch (ObjectDisposedException)
        {
            // The owner already finished with this connection.
        }
    }

    /// <summary>
    /// The only code that writes to the transport. Drains the queue, joining consecutive text frames
    /// with newlines into one message where allowed, then sends the requested close. Never throws: a
    /// failed write aborts this connection alone.
    /// </summary>
    internal async Task RunSendLoopAsync()
    {
        var reader = _queue;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (Close is { Flush: false })
                {
                    break;
                }

                await SendNextAsync(reader).ConfigureAwait(false);
            }

            // The queue completes only when a close was requested, so the request is there to read.
            var close = Close!;
            await _transport.CloseAsync(close.Code, close.Reason, _lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
            Log.SendFailed(_logger, Id, ex.GetType().Name);
            Abort();
        }
        catch (Exception ex)
        {
            // Not a peer going away but a defect; still, only this connection may pay for it, and its
            // owner's cleanup must run, so the loop ends normally.
            Log.SendLoopFailed(_logger, Id, ex);
            Abort();
        }
    }

    private async ValueTask SendNextAsync(OutboundQueue reader)
    {
        if (!reader.TryRead(out var first))
        {
            return;
        }

        Interlocked.Add(ref _queuedBytes, -first.Data.Length);
        var maxBatch = _limits.MaxBatchBytes;
        if (first.IsBinary || !BatchText || !reader.TryPeek(out var next) || next.IsBinary || first.Data.Length + 1 + next.Data.Length > maxBatch)
        {
            await SendAsync(first.Data, first.IsBinary, 1).ConfigureAwait(false);
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

            await SendAsync(batch.AsMemory(0, length), isBinary: false, count).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, int messages)
    {
        await _transport.SendAsync(data, isBinary, _lifetime.Token).ConfigureAwait(false);
        _metrics.MessagesOut.Add(messages);
        _metrics.BytesOut.Add(data.Length);
    }
}
