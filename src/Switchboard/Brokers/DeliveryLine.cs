namespace Switchboard.Brokers;

/// <summary>
/// One room's publications on their way to the node, in offset order, with at most one deliverer
/// at a time. Whoever appended a publication tries to become the deliverer and hands over everything
/// waiting; a publisher that finds another deliverer at work leaves its publication to it and can
/// wait for <see cref="WhenDelivered"/>. No lock is held while the node fans out.
/// </summary>
internal sealed class DeliveryLine
{
    // One deliverer hands over at most this many publications before passing the job to the thread
    // pool, so a publisher whose own publication went out long ago is not kept busy forever by others.
    private const int MaxPerTurn = 1024;

    // Guarded by locking this instance. Both created on first use: a room nobody publishes to holds
    // neither, and most publishers never wait (the memory broker usually delivers before it returns).
    private Queue<Publication>? _waiting;
    private List<(ulong Offset, TaskCompletionSource Done)>? _waiters;
    private int _delivering;
    private ulong _delivered;

    /// <summary>Appends; called under the stream's lock, which fixes the order.</summary>
    public void Add(Publication publication)
    {
        lock (this)
        {
            (_waiting ??= new()).Enqueue(publication);
        }
    }

    /// <summary>Hands everything waiting to <paramref name="handler"/>, unless another thread is already doing so.</summary>
    public void Deliver(IBrokerHandler handler)
    {
        while (Interlocked.CompareExchange(ref _delivering, 1, 0) == 0)
        {
            var handed = 0;
            while (handed < MaxPerTurn && TryTake(out var publication))
            {
                handler.OnPublication(publication);
                handed++;
                MarkDelivered(publication.Offset);
            }

            Volatile.Write(ref _delivering, 0);
            if (IsEmpty)
            {
                return;
            }

            if (handed == MaxPerTurn)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static state => state.Line.Deliver(state.Handler), (Line: this, Handler: handler), preferLocal: false);
                return;
            }

            // Something arrived after the last take but before the flag was cleared: its publisher may
            // have found the flag set and left, so this deliverer goes round again.
        }
    }

    /// <summary>Completes once <paramref name="offset"/> has been handed to the node.</summary>
    public Task WhenDelivered(ulong offset)
    {
        lock (this)
        {
            if (_delivered >= offset)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_waiters ??= []).Add((offset, done));
            return done.Task;
        }
    }

    private bool IsEmpty
    {
        get
        {
            lock (this)
            {
                return _waiting is not { Count: > 0 };
            }
        }
    }

    private bool TryTake(out Publication publication)
    {
        lock (this)
        {
            publication = null!;
            return _waiting is not null && _waiting.TryDequeue(out publication!);
        }
    }

    private void MarkDelivered(ulong offset)
    {
        lock (this)
        {
            _delivered = offset;
            if (_waiters is not { Count: > 0 })
            {
                return;
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Offset <= offset)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
