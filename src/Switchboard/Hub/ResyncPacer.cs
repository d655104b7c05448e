using System.Threading.Channels;
using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Hub;

/// <summary>
/// Tells members whose room lost part of its stream that their membership ended and that they should
/// join again, at most <c>Limits:ResyncRoomsPerSecond</c> memberships per second on this node (with a
/// burst of one second's worth). The members were detached when the loss was found; only the telling,
/// which is what makes clients re-join, is paced. When Redis restarts empty every room of every node
/// is lost at once, and without the pace every client would re-join everything in the same instant.
/// </summary>
/// <remarks>
/// <para>The queue holds at most one notice per membership (a detached membership is never detached
/// again), so it is bounded by the node's memberships. A notice whose member left, re-joined or closed
/// while it waited is dropped without spending a token; so is every notice once the node drains,
/// since closing with 1001 already tells those clients to reconnect and re-join.</para>
/// <para>One loop reads the queue, stored and awaited on disposal. The clock is the host's
/// <see cref="TimeProvider"/>, so tests move it step by step.</para>
/// </remarks>
internal sealed class ResyncPacer : IAsyncDisposable, IDisposable
{
    private readonly Channel<Notice> _notices = Channel.CreateUnbounded<Notice>(new UnboundedChannelOptions { SingleReader = true });
    private readonly double _perSecond;
    private readonly double _burst;
    private readonly TimeProvider _time;
    private readonly ShutdownState _shutdown;
    private readonly Func<RoomSubscription, ValueTask> _depart;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private double _tokens;
    private long _lastRefill;
    private int _pending;
    private long _told;
    private long _handled;
    private volatile bool _waitingForTime;

    /// <param name="perSecond">Memberships told per second.</param>
    /// <param name="time">The clock that paces.</param>
    /// <param name="shutdown">Whether the node drains (then nobody is told any more).</param>
    /// <param name="depart">Removes a told member from its room's coordinator (its presence, the node's interest).</param>
    public ResyncPacer(double perSecond, TimeProvider time, ShutdownState shutdown, Func<RoomSubscription, ValueTask> depart)
    {
        _perSecond = perSecond;
        _burst = Math.Max(1, perSecond);
        _time = time;
        _shutdown = shutdown;
        _depart = depart;
        _tokens = _burst;
        _lastRefill = time.GetTimestamp();
        _loop = RunAsync();
    }

    /// <summary>Notices queued and not yet taken by the loop.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Memberships told so far.</summary>
    public long Told => Interlocked.Read(ref _told);

    /// <summary>Notices the loop is done with: told, or dropped because nobody was left to tell.</summary>
    internal long Handled => Interlocked.Read(ref _handled);

    /// <summary>Whether the loop waits for its clock to allow the next notice (its timer is set).</summary>
    internal bool WaitingForTime => _waitingForTime;

    /// <summary>Queues the notice <paramref name="removed"/> for <paramref name="member"/>, already detached.</summary>
    public void Enqueue(RoomSubscription member, OutboundFrame removed)
    {
        Interlocked.Increment(ref _pending);
        if (!_notices.Writer.TryWrite(new Notice(member, removed)))
        {
            // Disposed: the node stops, and the member's connection closes with it.
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Stops the loop without waiting for it (a container disposed synchronously); it ends at its next step.</summary>
    public void Dispose()
    {
        _notices.Writer.TryComplete();
        // Not disposed here: the loop may still be reading its token as it ends.
        _stopping.Cancel();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _notices.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        // Off the constructor's thread: the loop's first steps must not run inside the hub's construction.
        await Task.Yield();
        var reader = _notices.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var notice))
                {
                    Interlocked.Decrement(ref _pending);
                    if (notice.Member.AwaitsLostNotice && !_shutdown.IsDraining)
                    {
                        await TakeTokenAsync(_stopping.Token).ConfigureAwait(false);
                        // Checked again: the member may have left, or the node begun draining, during the wait.
                        if (!_shutdown.IsDraining && notice.Member.TryTellLost(notice.Removed))
                        {
                            Interlocked.Increment(ref _told);
                            await DepartAsync(notice.Member).ConfigureAwait(false);
                        }
                        else
                        {
                            // Nobody re-joins because of this notice: its token goes to the next.
                            _tokens = Math.Min(_burst, _tokens + 1);
                        }
                    }

                    Interlocked.Increment(ref _handled);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposed: the node stops.
        }
    }

    private async ValueTask DepartAsync(RoomSubscription member)
    {
        try
        {
            await _depart(member).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // The member was told and is gone from the room on this node; the broker's view (presence,
            // interest) is corrected by its own clean-up. Whatever the broker threw, the loop goes on:
            // a loop ended by one failed departure would leave every later member detached and untold.
        }
    }

    private async ValueTask TakeTokenAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * _perSecond));
            _lastRefill = now;
            if (_tokens >= 1)
            {
                _tokens--;
                return;
            }

            var delay = Task.Delay(TimeSpan.FromSeconds((1 - _tokens) / _perSecond), _time, cancellationToken);
            // Raised only once the timer exists, so a test that sees it and moves the clock cannot move it too early.
            _waitingForTime = true;
            try
            {
                await delay.ConfigureAwait(false);
            }
            finally
            {
                _waitingForTime = false;
            }
        }
    }

    private readonly record struct Notice(RoomSubscription Member, OutboundFrame Removed);
}
