using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Switchboard.Client;

public sealed partial class SwitchboardClient
{
    /// <summary>
    /// Writes <paramref name="request"/> to the live connection, or queues it while there is none, and
    /// waits for its reply. Cancelling removes a request that has not been written; one already
    /// written may still be carried out by the server.
    /// </summary>
    internal async Task<JsonElement> RequestAsync(PendingRequest request, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static state =>
            {
                var (client, request, token) = ((SwitchboardClient, PendingRequest, CancellationToken))state!;
                client.Cancel(request, token);
            }, (this, request, cancellationToken))
            : default;

        while (!request.Completion.Task.IsCompleted)
        {
            var write = Submit(request, cancellationToken);
            try
            {
                await write.ConfigureAwait(false);
                break;
            }
            catch (ChannelClosedException)
            {
                // The connection ended while this waited for room in its queue: it was never written,
                // so it goes round again (to the offline queue, or to the next connection).
                _pending.TryRemove(request.Id, out _);
                if (request.Kind == RequestKind.Query)
                {
                    request.Fail(new SwitchboardException(ClientErrorCodes.Disconnected, "the connection dropped before the command was sent"));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Cancel(request, cancellationToken);
            }
        }

        return await request.Completion.Task.ConfigureAwait(false);
    }

    private ValueTask Submit(PendingRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_closed)
            {
                request.Fail(new SwitchboardException(ClientErrorCodes.Closed, "the client is closed", _status.CloseCode));
                return ValueTask.CompletedTask;
            }

            if (_session is { Ready: true } session)
            {
                _pending[request.Id] = request;
                return session.Outbound.Writer.WriteAsync(request, cancellationToken);
            }

            if (request.Kind == RequestKind.Query)
            {
                request.Fail(new SwitchboardException(ClientErrorCodes.Disconnected, "not connected"));
                return ValueTask.CompletedTask;
            }

            EnqueueOfflineLocked(request, atFront: false);
            return ValueTask.CompletedTask;
        }
    }

    private void Cancel(PendingRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (request.OfflineNode is { List: not null } node)
            {
                _offline.Remove(node);
            }

            request.OfflineNode = null;
        }

        _pending.TryRemove(request.Id, out _);
        // A request still in the outbound queue is skipped by the writer once its completion is set.
        request.Completion.TrySetCanceled(cancellationToken);
    }

    private void EnqueueOfflineLocked(PendingRequest request, bool atFront)
    {
        request.OfflineNode = atFront ? _offline.AddFirst(request) : _offline.AddLast(request);
        // Overflow rejects the oldest: the newest sends are the ones an application most likely still wants.
        while (_offline.Count > _options.OfflineQueue)
        {
            var oldest = _offline.First!.Value;
            _offline.RemoveFirst();
            oldest.OfflineNode = null;
            oldest.Fail(new SwitchboardException(ClientErrorCodes.OfflineQueueFull, $"the offline queue is full ({_options.OfflineQueue}); the oldest queued send was dropped unsent"));
        }
    }

    /// <summary>Queues a join of <paramref name="room"/> on <paramref name="session"/>; the caller holds the gate.</summary>
    private ValueTask WriteJoinLocked(SwitchboardRoom room, ClientSession session)
    {
        var request = room.CreateJoin(session);
        _pending[request.Id] = request;
        return session.Outbound.Writer.WriteAsync(request);
    }

    private static void ObserveInternalWrite(ValueTask write)
    {
        if (write.IsCompletedSuccessfully)
        {
            return;
        }

        // The join waits for room in a full queue. If the connection ends first the next one
        // re-joins every room, so a failed write needs nothing but to be observed.
        _ = ObserveAsync(write.AsTask());

        static async Task ObserveAsync(Task write)
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
            }
        }
    }

    /// <summary>
    /// The only code that writes to the connection. Drains the outbound queue, joining consecutive
    /// text commands into one frame (one POST on an event stream), one per line; when the queue is
    /// completed it closes the transport (the client's own close, or the echo of the server's).
    /// </summary>
    private async Task SendLoopAsync(ClientSession session)
    {
        var transport = session.Transport;
        var reader = session.Outbound.Reader;
        var batch = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!session.StopSending && reader.TryPeek(out var next))
                {
                    if (next.IsBinary)
                    {
                        reader.TryRead(out _);
                        if (next.Completion.Task.IsCompleted)
                        {
                            continue;
                        }

                        if (!transport.SupportsBinary)
                        {
                            _pending.TryRemove(next.Id, out _);
                            next.Fail(new SwitchboardException(ClientErrorCodes.BinaryUnsupported, "binary publishes need a WebSocket; this connection uses server-sent events"));
                            continue;
                        }

                        next.MarkWritten();
                        await transport.SendAsync(next.Frame, binary: true).ConfigureAwait(false);
                        _pending.TryRemove(next.Id, out _);
                        next.Completion.TrySetResult(default);
                        continue;
                    }

                    batch.ResetWrittenCount();
                    while (reader.TryPeek(out var text) && !text.IsBinary
                        && (batch.WrittenCount == 0 || batch.WrittenCount + 1 + text.Frame.Length <= transport.MaxBatchBytes))
                    {
                        reader.TryRead(out _);
                        if (text.Completion.Task.IsCompleted)
                        {
                            continue;
                        }

                        if (batch.WrittenCount > 0)
                        {
                            batch.Write("\n"u8);
                        }

                        batch.Write(text.Frame.Span);
                        text.MarkWritten();
                    }

                    if (batch.WrittenCount > 0)
                    {
                        await transport.SendAsync(batch.WrittenMemory, binary: false).ConfigureAwait(false);
                    }
                }

                if (session.StopSending)
                {
                    break;
                }
            }

            await transport.CloseOutputAsync(session.CloseRequested).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException or HttpRequestException)
        {
            // A failed write ends this connection only; the receive loop sees the abort and the
            // owner reconnects. Whatever was marked written is failed with "disconnected" there.
            session.Abort();
        }
    }
}
