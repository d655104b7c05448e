using System.Buffers;

namespace KestrelConnPeer;

/// <summary>
/// The sending half: a bounded queue and a send loop that exists only while there is something to
/// send. The first frame queued to an idle member starts the loop on the thread pool; the loop ends
/// when it finds the queue empty. So an idle member keeps no waiting loop and no queue's buffer.
/// </summary>
public sealed partial class Member
{
    // Frames queued before the member counts as slow; the same bound as the other peers.
    private const int QueueCapacity = 4096;

    // Bytes copied into Kestrel's pipe between two flushes, so one drain never copies a whole queue at once.
    private const int BytesPerFlush = 64 * 1024;

    private readonly Lock _gate = new();
    private Queue<byte[]>? _pending;
    private Task? _sending;
    private bool _stopped;
    private bool _broken;

    /// <summary>Queues an encoded frame; never blocks and never writes on the caller's thread.</summary>
    internal void Enqueue(byte[] frame)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _pending ??= new Queue<byte[]>();
            if (_pending.Count < QueueCapacity)
            {
                _pending.Enqueue(frame);
                // On the thread pool: a broadcaster holding the rooms lock must never write to a socket.
                _sending ??= Task.Run(DrainAsync);
                return;
            }

            _stopped = true;
            _broken = true;
        }

        // A full queue is a slow client: abort it rather than block the sender. Its read loop ends with it.
        _connection.Abort();
    }

    private async Task DrainAsync()
    {
        var output = _connection.Transport.Output;
        try
        {
            while (true)
            {
                var bytes = 0;
                lock (_gate)
                {
                    // Copying into the pipe is a memory copy, not I/O, so it may happen under the member's lock.
                    while (bytes < BytesPerFlush && _pending!.TryDequeue(out var frame))
                    {
                        output.Write(frame);
                        bytes += frame.Length;
                    }

                    if (bytes == 0)
                    {
                        _sending = null;
                        return;
                    }
                }

                var flushed = await output.FlushAsync();
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    Break();
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // A failed write ends this connection only.
            Break();
        }
    }

    private void Break()
    {
        lock (_gate)
        {
            _stopped = true;
            _broken = true;
        }

        _connection.Abort();
    }

    /// <summary>Lets no more frames in and waits for the loop to finish; true when the output can still take a close frame.</summary>
    private async Task<bool> StopSendingAsync()
    {
        Task? sending;
        lock (_gate)
        {
            _stopped = true;
            sending = _sending;
        }

        if (sending is not null)
        {
            try
            {
                await sending.WaitAsync(CloseTimeout);
            }
            catch (TimeoutException)
            {
                // A client that reads nothing keeps the last flush waiting: drop it.
                _connection.Abort();
                return false;
            }
        }

        lock (_gate)
        {
            return !_broken;
        }
    }
}
