using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>This node's subscription to one user's channel, held while the user has connections here.</summary>
internal sealed class UserChannel
{
    private readonly Lock _lock = new();
    private int _interest;
    private bool _closed;

    public UserChannel(string user, RedisBroker broker)
    {
        User = user;
        Handler = (_, value) => broker.OnUserMessage(user, value);
    }

    public string User { get; }

    /// <summary>The handler registered for the channel; the same instance unsubscribes it.</summary>
    public Action<RedisChannel, RedisValue> Handler { get; }

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

    /// <summary>Counts one interest less; on the last, closes and runs <paramref name="onClose"/> under the lock (see <see cref="RoomFeed.RemoveInterest"/>).</summary>
    public bool RemoveInterest(Action onClose)
    {
        lock (_lock)
        {
            if (_closed || --_interest > 0)
            {
                return false;
            }

            _closed = true;
            onClose();
            return true;
        }
    }
}
