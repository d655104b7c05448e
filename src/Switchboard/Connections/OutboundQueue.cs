using System.Threading.Tasks.Sources;

namespace Switchboard.Connections;

/// <summary>
/// A connection's bounded outbound queue: many writers, one reader (the send loop). It does what the
/// bounded channel it replaces did for the send loop (never blocks a writer, refuses past its bound,
/// completes once, wakes the reader on another thread) in one small object: a bounded channel kept
/// eight objects (about 670 bytes) per connection, idle or not, for waiters this queue never needs.
/// </summary>
internal sealed class OutboundQueue(int capacity) : IValueTaskSource<bool>
{
    // Continuations run on the thread pool, never inline in a writer: a publisher's fan-out must not
    // end up running some member's send loop.
    private ManualResetValueTaskSourceCore<bool> _wake = new() { RunContinuationsAsynchronously = true };
    private Queue<OutboundFrame>? _frames;
    private bool _waiting;
    private bool _completed;

    /// <summary>Frames waiting.</summary>
    public int Count
    {
        get
        {
            lock (this)
            {
                return _frames?.Count ?? 0;
            }
        }
    }

    /// <summary>Queues a frame; false when the queue is full or completed.</summary>
    public bool TryWrite(OutboundFrame frame)
    {
        lock (this)
        {
            if (_completed || (_frames?.Count ?? 0) >= capacity)
            {
                return false;
            }

            (_frames ??= new Queue<OutboundFrame>()).Enqueue(frame);
            if (!_waiting)
            {
                return true;
            }

            _waiting = false;
        }

        _wake.SetResult(true);
        return true;
    }

    /// <summary>Refuses further writes; the reader still drains what is queued. False if already completed.</summary>
    public bool TryComplete()
    {
        lock (this)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            if (!_waiting)
            {
                return true;
            }

            _waiting = false;
        }

        _wake.SetResult(false);
        return true;
    }

    /// <summary>True when a frame can be read; false once the queue is completed and empty. One reader only.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (this)
        {
            if (_frames is { Count: > 0 })
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wake.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _wake.Version);
        }
    }

    public bool TryRead(out OutboundFrame frame)
    {
        lock (this)
        {
            if (_frames is { Count: > 0 } frames)
            {
                frame = frames.Dequeue();
                return true;
            }

            frame = default;
            return false;
        }
    }

    public bool TryPeek(out OutboundFrame frame)
    {
        lock (this)
        {
            if (_frames is { Count: > 0 } frames)
            {
                frame = frames.Peek();
                return true;
            }

            frame = default;
            return false;
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wake.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wake.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);
}
