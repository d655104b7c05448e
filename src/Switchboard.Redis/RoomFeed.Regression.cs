using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>
/// Offsets that go backwards under one epoch: Redis lost the tail of the room's stream without losing
/// the stream (a failover to a replica that lagged, a restart from an AOF written every second), so
/// it hands out again offsets this node already delivered. Left alone, the new publications under
/// those offsets would be dropped as echoes, silently. The node sees it two ways: a publication
/// arrives under a delivered offset with another time than the one delivered (an echo repeats its
/// time exactly), or the room's top in Redis is below what was delivered. Then the epoch rotates, in
/// Redis, once for every node (whoever comes first), and members learn that recovery is impossible.
/// </summary>
internal sealed partial class RoomFeed
{
    // The last publications delivered, by offset modulo the size: what an echo can be told apart from.
    private const int RecentKept = 256;

    private readonly (ulong Offset, long TimeMs)[] _recent = new (ulong, long)[RecentKept];
    private bool _rotating;

    /// <summary>
    /// Looks at a publication that arrived under an offset already delivered: an echo repeats the
    /// delivered one's time; another time means Redis handed the offset out again, and the epoch rotates.
    /// </summary>
    public void CheckRepeat(ulong offset, long timeMs)
    {
        lock (_lock)
        {
            if (!_closed && _hasBaseline && offset <= _delivered)
            {
                CheckRepeatLocked(offset, timeMs);
            }
        }
    }

    private void CheckRepeatLocked(ulong offset, long timeMs)
    {
        var (seen, seenTime) = _recent[offset % RecentKept];
        if (seen == offset && seenTime != timeMs)
        {
            RotateLocked($"offset {offset} came again with another publication (the stream went back below {_delivered})");
        }
    }

    /// <summary>Whether a rotation of the epoch was asked for and has not come back yet.</summary>
    public bool IsRotating
    {
        get
        {
            lock (_lock)
            {
                return _rotating;
            }
        }
    }

    private void RememberLocked(ulong offset, long timeMs) => _recent[offset % RecentKept] = (offset, timeMs);

    /// <summary>Asks Redis for a new epoch unless one is already on its way; the caller holds the lock.</summary>
    private void RotateLocked(string reason)
    {
        if (_rotating)
        {
            return;
        }

        _rotating = true;
        _ = RotateAsync(_epoch, reason);
    }

    private async Task RotateAsync(string observed, string reason)
    {
        // Off the caller's lock and thread (often a Redis callback).
        await Task.Yield();
        (string Epoch, ulong Top) current;
        try
        {
            current = await _broker.RotateEpochAsync(Room, observed).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BrokerUnavailableException or OperationCanceledException)
        {
            // Redis is away: the probe finds the regression again (or a new epoch) once it is back.
            lock (_lock)
            {
                _rotating = false;
            }

            return;
        }

        lock (_lock)
        {
            _rotating = false;
            if (_closed || _epoch != observed)
            {
                return;
            }

            LoseLocked($"the room's offsets went backwards under epoch {observed}: {reason}; it starts again as {current.Epoch}");
            StartEpochLocked(current.Epoch, current.Top);
        }
    }
}
