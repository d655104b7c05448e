using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Hub;

/// <summary>
/// The rate of one room's <c>joined</c>/<c>left</c> events on this node. Each event costs one delivery
/// per member, so a client toggling join and leave in a room of a thousand would cost a thousand
/// deliveries per command. Within the burst an event goes out at once; beyond it, changes are held,
/// and when the bucket has a token again each user's net change is sent once: a user who joined and
/// left meanwhile (an even number of changes) sends nothing, one who ended up elsewhere sends one event.
/// </summary>
/// <remarks>
/// A user's changes alternate (its first connection joins, its last leaves), so the first held change
/// of a user tells what was last announced (its opposite), and an odd number of held changes means the
/// net change is the latest one. Held changes keep the order of their first change.
/// </remarks>
internal sealed class PresenceCoalescer(string room, IBroker broker, double perSecond, int burst, TimeProvider time)
{
    private readonly Lock _lock = new();
    // Created by the first change held: most rooms never go past their burst.
    private List<HeldChange>? _held;
    private double _tokens = burst;
    private long _lastRefill = time.GetTimestamp();
    private ITimer? _flush;
    private ITimer? _idle;

    /// <summary>The room.</summary>
    public string Room => room;

    /// <summary>
    /// Announces that <paramref name="user"/> joined (or left). Returns the event to publish now, or
    /// null when it was held for the next flush (which publishes it itself).
    /// </summary>
    public OutboundFrame? Announce(string user, bool joined)
    {
        lock (_lock)
        {
            Refill();
            if (_held is not { Count: > 0 } && _tokens >= 1)
            {
                _tokens--;
                return Frame(user, joined);
            }

            Hold(user, joined);
            if (_flush is null)
            {
                // Strictly positive (tokens < 1 here), so the timer never fires inside CreateTimer.
                var wait = TimeSpan.FromSeconds(Math.Max(0.001, (1 - _tokens) / perSecond));
                _flush = time.CreateTimer(static state => ((PresenceCoalescer)state!).Flush(), this, wait, Timeout.InfiniteTimeSpan);
            }

            return null;
        }
    }

    /// <summary>
    /// Calls <paramref name="forget"/> once nothing is held and the bucket is full again, when dropping
    /// this instance loses no state (called when the room retires on this node). At once if it already is.
    /// </summary>
    public void WhenIdle(Action<PresenceCoalescer> forget)
    {
        TimeSpan wait;
        lock (_lock)
        {
            Refill();
            // Held changes flush within 1/perSecond; the bucket is full (burst - tokens)/perSecond later.
            wait = TimeSpan.FromSeconds((burst - _tokens + (_held is { Count: > 0 } ? 1 : 0)) / perSecond);
            if (wait > TimeSpan.Zero)
            {
                _idle?.Dispose();
                _idle = time.CreateTimer(static state => ((Action)state!)(), () => Idle(forget), wait, Timeout.InfiniteTimeSpan);
                return;
            }
        }

        forget(this);
    }

    private void Idle(Action<PresenceCoalescer> forget)
    {
        lock (_lock)
        {
            _idle?.Dispose();
            _idle = null;
        }

        forget(this);
    }

    private void Hold(string user, bool joined)
    {
        _held ??= [];
        var index = _held.FindIndex(h => h.User == user);
        if (index < 0)
        {
            _held.Add(new HeldChange(user, joined, 1));
        }
        else
        {
            _held[index] = _held[index] with { Latest = joined, Count = _held[index].Count + 1 };
        }
    }

    private void Flush()
    {
        var changes = new List<HeldChange>();
        lock (_lock)
        {
            _flush?.Dispose();
            _flush = null;
            Refill();
            foreach (var held in _held ?? [])
            {
                if (held.Count % 2 == 1)
                {
                    changes.Add(held);
                }

            }

            _held?.Clear();
            // Each sent event is paid for, into debt if need be: the next ones wait for it.
            _tokens -= changes.Count;
        }

        // Nothing awaits the flush (it runs on a timer); PublishAllAsync never throws.
        _ = PublishAllAsync(changes);
    }

    private async Task PublishAllAsync(List<HeldChange> changes)
    {
        foreach (var change in changes)
        {
            try
            {
                await broker.AnnouncePresenceAsync(room, change.User, change.Latest, Frame(change.User, change.Latest), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BrokerUnavailableException or ObjectDisposedException or OperationCanceledException)
            {
                // An outage, or a node shutting down after the flush was scheduled: the events are
                // lost as an immediate one would be, and the presence command still tells the truth.
            }
        }
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + (time.GetElapsedTime(_lastRefill, now).TotalSeconds * perSecond));
        _lastRefill = now;
    }

    private OutboundFrame Frame(string user, bool joined) =>
        OutboundFrame.Text(ServerMessages.PresenceChange(joined, room, user));

    private readonly record struct HeldChange(string User, bool Latest, int Count);
}
