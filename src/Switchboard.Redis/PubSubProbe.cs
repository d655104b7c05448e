namespace Switchboard.Redis;

/// <summary>
/// The liveness probe of one shard's pub/sub connection: every interval it sends a numbered ping
/// (the broker publishes it on a channel of this node's, through the interactive connection) and
/// expects it back through the subscriber connection within the timeout. A connection that is
/// half-open or silently dropped its subscriptions stays "connected" for StackExchange.Redis, so
/// only a message that actually comes back proves the node still hears the shard.
/// </summary>
/// <remarks>
/// One loop owns the schedule; <see cref="OnEcho"/> may run on any thread. The time provider is
/// injected so a unit test can pin the schedule without waiting.
/// </remarks>
internal sealed class PubSubProbe(TimeSpan interval, TimeSpan timeout, TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _echoed;
    private long _waitingFor;
    private TaskCompletionSource? _echo;
    private bool _stalled;

    /// <summary>Whether the last ping did not come back in time (and none has since).</summary>
    public bool Stalled
    {
        get
        {
            lock (_lock)
            {
                return _stalled;
            }
        }
    }

    /// <summary>The highest ping number that came back.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>A ping came back through the subscriber connection.</summary>
    public void OnEcho(long number)
    {
        TaskCompletionSource? echo = null;
        lock (_lock)
        {
            if (number > _echoed)
            {
                Interlocked.Exchange(ref _echoed, number);
            }

            if (_echo is not null && number >= _waitingFor)
            {
                echo = _echo;
                _echo = null;
            }
        }

        echo?.TrySetResult();
    }

    /// <summary>
    /// Runs until <paramref name="stopping"/>: waits an interval, sends ping N with
    /// <paramref name="send"/> and waits up to the timeout for it. The first miss calls
    /// <paramref name="onStalled"/>; the first ping back after a miss calls <paramref name="onRecovered"/>.
    /// A ping that cannot be sent (the interactive connection is down, which readiness reports on its
    /// own) proves nothing either way and leaves the state as it is.
    /// </summary>
    public async Task RunAsync(Func<long, CancellationToken, Task> send, Action onStalled, Action onRecovered, CancellationToken stopping)
    {
        try
        {
            for (var number = 1L; ; number++)
            {
                await Task.Delay(interval, time, stopping).ConfigureAwait(false);
                var echo = Expect(number);
                try
                {
                    await send(number, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    continue;
                }

                bool back;
                try
                {
                    await echo.WaitAsync(timeout, time, stopping).ConfigureAwait(false);
                    back = true;
                }
                catch (TimeoutException)
                {
                    back = false;
                }

                if (Transition(back))
                {
                    (back ? onRecovered : onStalled)();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private Task Expect(long number)
    {
        lock (_lock)
        {
            _waitingFor = number;
            if (_echoed >= number)
            {
                return Task.CompletedTask;
            }

            // Continuations run inline on the echo's thread (a Redis handler on the thread pool): the
            // loop's next step is a lock and a timer, and taking it at once makes the probe's reaction
            // to an echo finished when OnEcho returns, which a test can rely on.
            _echo = new TaskCompletionSource();
            return _echo.Task;
        }
    }

    /// <summary>Records the round's outcome; true when it changes the state (stalled, or back).</summary>
    private bool Transition(bool back)
    {
        lock (_lock)
        {
            if (_stalled == !back)
            {
                return false;
            }

            _stalled = !back;
            return true;
        }
    }
}
