using Switchboard.Brokers;

namespace Switchboard.Redis;

internal sealed partial class RoomFeed
{
    /// <summary>
    /// Closes gaps and catches up. A gap first gets <see cref="RedisBroker.GapWait"/> to close by
    /// itself (the missing offsets are nearly always in flight on the pub/sub connection); then, and
    /// at once for a catch-up, the stream is read after the last delivered offset. One loop per room
    /// at most; it ends when nothing is missing. When Redis cannot answer it ends too: the heartbeat's
    /// probe and the reconnect handler start it again.
    /// </summary>
    private async Task FillLoopAsync()
    {
        // Off the caller's lock and thread (often a Redis callback).
        await Task.Yield();
        var waited = false;
        while (true)
        {
            Task? gapClosed = null;
            lock (_lock)
            {
                if (_closed || (!_catchUpRequested && !HasGapLocked))
                {
                    _filling = false;
                    return;
                }

                if (!_catchUpRequested && !waited)
                {
                    gapClosed = (_gapClosed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
            }

            if (gapClosed is not null)
            {
                waited = true;
                try
                {
                    await gapClosed.WaitAsync(_broker.GapWait, _broker.Stopping).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Still missing after the grace: read it from the stream below.
                }
                catch (OperationCanceledException)
                {
                    StopFilling();
                    return;
                }

                continue;
            }

            waited = false;
            ulong? after;
            string epochOfAfter;
            lock (_lock)
            {
                _catchUpRequested = false;
                after = _hasBaseline ? _delivered : null;
                epochOfAfter = _epoch;
            }

            FeedRead read;
            try
            {
                read = await _broker.ReadFeedAsync(Room, after).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BrokerUnavailableException or OperationCanceledException)
            {
                _broker.OnFillFailed(Room, ex.Message);
                StopFilling();
                return;
            }

            lock (_lock)
            {
                if (_closed)
                {
                    _filling = false;
                    return;
                }

                var before = _delivered;
                ApplyReadLocked(read, after is { } offset ? (epochOfAfter, offset) : null);
                CompleteWaitersLocked(all: false);
                if (!HasGapLocked && _gapClosed is { } closed)
                {
                    _gapClosed = null;
                    closed.TrySetResult();
                }

                _broker.OnFilled(Room, before, _delivered);
            }
        }
    }

    private void StopFilling()
    {
        lock (_lock)
        {
            _filling = false;
        }
    }
}
