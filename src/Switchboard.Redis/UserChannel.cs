using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>This node's subscription to one user's channel, held while the user has connections here.</summary>
internal sealed class UserChannel(string user, RedisBroker broker) : IDeliveryTarget
{
    private readonly Lock _lock = new();
    private int _interest;
    private bool _closed;
    private ChannelMessageQueue? _queue;
    // The direct count last heard on the channel (null before the first), and the directs heard since:
    // touched only on the user's delivery worker, in channel order.
    private long? _countHeard;
    private long _directsSince;

    public string User { get; } = user;

    string IDeliveryTarget.Name => User;

    /// <summary>The delivery worker of this user's direct messages: they reach the user's devices in the order sent.</summary>
    public int Worker { get; } = DeliveryWorkers.WorkerOf("user:" + user);

    /// <summary>Counts one more connection's interest; true for the first (which subscribes). False when closed meanwhile.</summary>
    public bool TryAddInterest(out bool first)
    {
        lock (_lock)
        {
            first = _interest == 0;
            if (_closed)
            {
                return false;
            }

            _interest++;
            return true;
        }
    }

    /// <summary>Takes the subscription's queue; false when the last interest was withdrawn meanwhile (the caller unsubscribes it).</summary>
    public bool TryAttach(ChannelMessageQueue queue)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            _queue = queue;
            return true;
        }
    }

    /// <summary>Counts one interest less; on the last, closes and runs <paramref name="onClose"/> with the queue under the lock (see <see cref="RoomFeed.RemoveInterest"/>).</summary>
    public bool RemoveInterest(Action<ChannelMessageQueue?> onClose)
    {
        lock (_lock)
        {
            if (_closed || --_interest > 0)
            {
                return false;
            }

            _closed = true;
            onClose(_queue);
            _queue = null;
            return true;
        }
    }

    /// <summary>On the user's delivery worker: a direct message from the user's channel.</summary>
    public void Deliver(in DeliveryItem item) => broker.OnUserMessage(this, item.Message);

    /// <summary>On the worker: a direct message was heard on the channel (delivered here or not: this node's own echo counts).</summary>
    public void OnDirectHeard() => _directsSince++;

    /// <summary>
    /// On the worker: the channel says <paramref name="count"/> directs were sent to the user so far.
    /// Returns how many of those sent since the count last heard never arrived here. The first count
    /// only sets the baseline; a count lower than the last one means the counter expired or Redis lost
    /// it, and starts a new baseline (what was missed across that is not known).
    /// </summary>
    public long OnDirectCount(long count)
    {
        var missed = _countHeard is { } last && count >= last ? Math.Max(0, count - last - _directsSince) : 0;
        _countHeard = count;
        _directsSince = 0;
        return missed;
    }
}
