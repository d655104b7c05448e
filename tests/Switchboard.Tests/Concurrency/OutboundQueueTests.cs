using Switchboard.Connections;
using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A connection's outbound queue as its writers (fan-out, replies) and its one reader (the send loop)
/// use it: bounded, completed once, drained after completion, and a writer never runs the reader.
/// </summary>
[Trait("Category", "unit")]
public sealed class OutboundQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly OutboundFrame Frame = OutboundFrame.Text("{}"u8.ToArray());

    [Fact]
    public async Task AWriterWakesTheWaitingReaderOnAnotherThreadNeverInline()
    {
        var queue = new OutboundQueue(capacity: 4);
        // Awaited by hand below, as the send loop's await does: its result is read in the
        // continuation that its completion runs, once.
#pragma warning disable CA2012
        var waiting = queue.WaitToReadAsync();
#pragma warning restore CA2012
        Assert.False(waiting.IsCompleted);
        // The reader's continuation is registered before anything is written, so the write is what
        // completes it (an await on another thread could come too late and find the frame already there).
        var readerThread = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = false;
        // Registered on a pool thread, which has no synchronization context (the test framework's
        // would post the continuation elsewhere whatever the queue did), as the send loop awaits it.
        await Task.Run(() =>
        {
            var awaiter = waiting.GetAwaiter();
            awaiter.OnCompleted(() =>
            {
                ready = awaiter.GetResult();
                readerThread.SetResult(Environment.CurrentManagedThreadId);
            });
        });

        // A dedicated thread, never a pool thread: the reader's continuation can only have run on it
        // if the write ran it inline.
        var writerThreadId = 0;
        var writer = new Thread(() =>
        {
            writerThreadId = Environment.CurrentManagedThreadId;
            Assert.True(queue.TryWrite(Frame));
        });
        writer.Start();
        Assert.True(writer.Join(Timeout));

        Assert.NotEqual(writerThreadId, await readerThread.Task.WaitAsync(Timeout));
        Assert.True(ready);
        Assert.True(queue.TryRead(out _));
    }

    [Fact]
    public void AFullQueueRefusesTheWriteAndKeepsWhatItHolds()
    {
        var queue = new OutboundQueue(capacity: 2);

        Assert.True(queue.TryWrite(Frame));
        Assert.True(queue.TryWrite(Frame));
        Assert.False(queue.TryWrite(Frame));

        Assert.Equal(2, queue.Count);
        Assert.True(queue.TryRead(out _));
        Assert.True(queue.TryWrite(Frame));
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public async Task ACompletedQueueRefusesWritesButIsDrainedBeforeItReportsTheEnd()
    {
        var queue = new OutboundQueue(capacity: 4);
        var first = OutboundFrame.Text("1"u8.ToArray());
        var second = OutboundFrame.Text("2"u8.ToArray());
        Assert.True(queue.TryWrite(first));
        Assert.True(queue.TryWrite(second));

        Assert.True(queue.TryComplete());
        Assert.False(queue.TryComplete());
        Assert.False(queue.TryWrite(Frame));

        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Timeout));
        Assert.True(queue.TryPeek(out var peeked));
        Assert.Same(first.Data, peeked.Data);
        Assert.True(queue.TryRead(out var read));
        Assert.Same(first.Data, read.Data);
        Assert.True(await queue.WaitToReadAsync().AsTask().WaitAsync(Timeout));
        Assert.True(queue.TryRead(out read));
        Assert.Same(second.Data, read.Data);
        Assert.False(await queue.WaitToReadAsync().AsTask().WaitAsync(Timeout));
        Assert.False(queue.TryRead(out _));
    }

    [Fact]
    public async Task CompletingWakesAReaderWaitingOnAnEmptyQueueWithTheEnd()
    {
        var queue = new OutboundQueue(capacity: 4);
        var waiting = queue.WaitToReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        Assert.True(queue.TryComplete());

        Assert.False(await waiting.WaitAsync(Timeout));
    }
}
