using System.Runtime.CompilerServices;

namespace Switchboard.Transports;

/// <summary>
/// The upgraded connection's stream, handed to the WebSocket. The WebSocket disposes it when it
/// aborts, and it aborts on bad input right after sending its close frame; disposing then would end
/// the TCP connection with the peer's unread bytes still buffered, and the kernel's reset could
/// destroy the close frame before the peer read it. So a dispose with nothing under way is deferred
/// to the transport's own end, which first reads off and discards the peer's input (a lingering
/// close). A dispose that finds a read or write under way (a keep-alive timeout, an abort while
/// waiting for data or for a peer that stopped reading) aborts the connection at once: disposing the
/// upgraded stream alone does not end an operation already waiting on it.
/// </summary>
/// <param name="inner">The upgraded connection's stream.</param>
/// <param name="abortConnection">Ends the TCP connection (the request's <c>Abort</c>).</param>
internal sealed class LingeringStream(Stream inner, Action abortConnection) : Stream
{
    private int _pending;

    /// <summary>The stream below, for the lingering read and the final dispose.</summary>
    public Stream Inner => inner;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _pending);
        var read = inner.ReadAsync(buffer, cancellationToken);
        if (read.IsCompleted)
        {
            Interlocked.Decrement(ref _pending);
            return read;
        }

        return AwaitAsync(read);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _pending);
        var write = inner.WriteAsync(buffer, cancellationToken);
        if (write.IsCompleted)
        {
            Interlocked.Decrement(ref _pending);
            return write;
        }

        return AwaitAsync(write);
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pending);
        var flush = inner.FlushAsync(cancellationToken);
        if (flush.IsCompleted)
        {
            Interlocked.Decrement(ref _pending);
            return flush;
        }

        return AwaitAsync(new ValueTask(flush)).AsTask();
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous only");

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Aborts the connection when an operation is under way; otherwise leaves it to the transport, which lingers first.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Volatile.Read(ref _pending) > 0)
        {
            abortConnection();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitAsync(ValueTask<int> operation)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitAsync(ValueTask operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }
}
