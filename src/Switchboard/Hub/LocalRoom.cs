using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Hub;

/// <summary>
/// The coordinator of one room on this node: its members, the one reference count behind the
/// node's broker subscription, and the order of the broker calls. Every change happens under the
/// room's lock; the broker calls themselves run outside it, chained one after another, so the broker
/// sees subscribe and unsubscribe strictly alternate, and every joiner waits for the same subscribe.
/// </summary>
/// <remarks>
/// Joins and leaves are O(1): members live in a set (one field while there is one member, see
/// <see cref="RoomMembers"/>). Fan-out walks an array snapshot without any lock; the snapshot is
/// rebuilt lazily, by the first delivery after a change, so a burst of joins with no traffic (10,000
/// members reconnecting after a restart) costs no copying at all, and with traffic a rebuild costs
/// no more than the fan-out it precedes.
/// </remarks>
internal sealed class LocalRoom
{
    private readonly Lock _lock = new();
    private readonly IBroker _broker;
    private readonly Action<LocalRoom> _retire;
    // A mutable struct: always used through this field, never copied.
    private RoomMembers _members;
    private RoomSubscription[] _snapshot = [];
    private volatile bool _stale;
    private bool _subscribed;
    private bool _retired;
    private Task _ready = Task.CompletedTask;
    private Task _lastBrokerCall = Task.CompletedTask;

    /// <param name="name">The room.</param>
    /// <param name="broker">The broker told when the node's first member arrives and its last leaves.</param>
    /// <param name="retire">Removes the room from the hub once it is idle; called under the room's lock.</param>
    /// <param name="presence">The rate of the room's presence events on this node.</param>
    public LocalRoom(string name, IBroker broker, Action<LocalRoom> retire, PresenceCoalescer presence)
    {
        Name = name;
        PresenceEvents = presence;
        _broker = broker;
        _retire = retire;
    }

    public string Name { get; }

    /// <summary>The rate of this room's <c>joined</c>/<c>left</c> events (coalesced beyond their burst).</summary>
    public PresenceCoalescer PresenceEvents { get; }

    /// <summary>The members, as a snapshot that fan-out may walk without a lock.</summary>
    public RoomSubscription[] Members
    {
        get
        {
            if (!_stale)
            {
                return Volatile.Read(ref _snapshot);
            }

            lock (_lock)
            {
                if (_stale)
                {
                    Volatile.Write(ref _snapshot, _members.ToArray());
                    _stale = false;
                }

                return _snapshot;
            }
        }
    }

    public int MemberCount
    {
        get
        {
            lock (_lock)
            {
                return _members.Count;
            }
        }
    }

    public int UserCount
    {
        get
        {
            lock (_lock)
            {
                return _members.UserCount;
            }
        }
    }

    /// <summary>
    /// Adds a member. Returns the task the member must await before reading the room's stream: the
    /// node's broker subscription, started by the first member and shared by all who come while it
    /// runs. Null when the room was retired meanwhile (the caller fetches a fresh one).
    /// </summary>
    public Task? TryAdd(RoomSubscription member, out bool firstOfUser)
    {
        BrokerCall? subscribe = null;
        Task ready;
        lock (_lock)
        {
            firstOfUser = false;
            if (_retired)
            {
                return null;
            }

            firstOfUser = _members.Add(member);
            _stale = true;
            if (!_subscribed)
            {
                _subscribed = true;
                subscribe = ChainBrokerCall(() => _broker.SubscribeRoomAsync(Name, CancellationToken.None));
                _ready = subscribe.Done;
            }

            ready = _ready;
        }

        subscribe?.Start();
        return ready;
    }

    /// <summary>
    /// Lets go of <paramref name="ready"/>, a subscribe its joiner saw succeed: a completed task serves
    /// every later joiner and the next broker call alike, and the room would otherwise keep this one
    /// (a task of 64 bytes) for its whole life. An unsubscribe is never settled: retiring compares it.
    /// </summary>
    public void Settle(Task ready)
    {
        if (ready == Task.CompletedTask)
        {
            return;
        }

        lock (_lock)
        {
            if (_ready == ready)
            {
                _ready = Task.CompletedTask;
            }

            if (_lastBrokerCall == ready)
            {
                _lastBrokerCall = Task.CompletedTask;
            }
        }
    }

    /// <summary>
    /// Removes a member, telling whether it was its user's last connection here. When it was the
    /// room's last member the node's broker subscription is withdrawn (after any call still running)
    /// and awaited; once that is done and nobody came back, the room retires.
    /// </summary>
    public async ValueTask<bool> RemoveAsync(RoomSubscription member)
    {
        BrokerCall? unsubscribe = null;
        bool lastOfUser;
        lock (_lock)
        {
            if (!_members.Remove(member, out lastOfUser))
            {
                return false;
            }

            _stale = true;

            if (_members.Count == 0 && _subscribed)
            {
                _subscribed = false;
                unsubscribe = ChainBrokerCall(() => _broker.UnsubscribeRoomAsync(Name, CancellationToken.None));
            }
        }

        if (unsubscribe is not null)
        {
            unsubscribe.Start();
            try
            {
                await unsubscribe.Done.ConfigureAwait(false);
            }
            finally
            {
                RetireIfIdle(unsubscribe.Done);
            }
        }

        return lastOfUser;
    }

    /// <summary>The room's users with their connection counts on this node, sorted by user.</summary>
    public KeyValuePair<string, int>[] Presence()
    {
        lock (_lock)
        {
            return _members.Presence();
        }
    }

    private void RetireIfIdle(Task unsubscribe)
    {
        lock (_lock)
        {
            // Somebody joined after the unsubscribe was chained: the room lives on with its new subscribe.
            if (_lastBrokerCall == unsubscribe && _members.Count == 0 && !_retired)
            {
                _retired = true;
                _retire(this);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="call"/> behind every earlier broker call of this room. Called under the
    /// lock; the caller starts it after releasing the lock, since a broker may call back into the room
    /// (fan-out reads <see cref="Members"/>) while holding locks of its own.
    /// </summary>
    private BrokerCall ChainBrokerCall(Func<ValueTask> call)
    {
        var next = new BrokerCall(_lastBrokerCall, call);
        _lastBrokerCall = next.Done;
        return next;
    }

    /// <summary>One subscribe or unsubscribe, run after the previous one has finished, however that ended.</summary>
    private sealed class BrokerCall(Task previous, Func<ValueTask> call)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;

        // The task is observed through Done, which carries any failure to every awaiter.
        public void Start() => _ = RunAsync();

        private async Task RunAsync()
        {
            try
            {
                // An earlier call's failure belongs to those who awaited it; this one runs regardless.
                await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await call().ConfigureAwait(false);
                _done.TrySetResult();
            }
            catch (Exception ex)
            {
                _done.TrySetException(ex);
            }
        }
    }
}
