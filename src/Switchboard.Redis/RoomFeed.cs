using StackExchange.Redis;
using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>
/// This node's view of one room it serves: the Redis subscription's handler, and the sequencer that
/// hands the node every offset exactly once, in order, whatever way it came (the local publisher,
/// pub/sub, or a read of the stream to fill a gap). Pub/sub messages and local publications reach it
/// on the room's delivery worker (<see cref="DeliveryWorkers"/>), one at a time; gap fills apply on
/// their own task. Everything below is guarded by one lock per room; the node's handler only
/// enqueues, so it is called while holding it, as the in-memory broker does.
/// </summary>
/// <remarks>
/// Gaps are normal for a moment: a node delivers its own publication as soon as the script returns,
/// perhaps before pub/sub brought an earlier offset published on another node. A gap that outlives
/// <see cref="RedisBrokerOptions.GapWaitMilliseconds"/> is filled from the stream; what the stream no
/// longer holds makes the node remove the room's members from it (<see cref="IBrokerHandler.OnStreamLost"/>:
/// <c>removed</c> with <c>stream_lost</c>, <c>rejoin:true</c>) so that they re-join with <c>since</c> and learn what is missing.
/// </remarks>
internal sealed partial class RoomFeed : IDeliveryTarget
{
    // Far above what a gap of GapWait at any realistic rate holds; past it the node gives up waiting.
    private const int MaxPending = 65_536;
    private const int RetiredEpochsKept = 8;

    private readonly RedisBroker _broker;
    private readonly Lock _lock = new();
    // Offsets that arrived ahead of a missing one, lowest first; a duplicate is dropped when drained.
    private readonly PriorityQueue<Publication, ulong> _pending = new();
    private readonly List<(Publication Publication, string Epoch)> _early = [];
    private readonly List<(ulong Offset, TaskCompletionSource Done)> _waiters = [];
    private readonly Queue<string> _retired = new();
    private string _epoch = string.Empty;
    private ulong _delivered;
    private bool _hasBaseline;
    private int _interest;
    private bool _closed;
    private bool _filling;
    private bool _catchUpRequested;
    private TaskCompletionSource? _gapClosed;
    private ulong _probeTop;
    private Task? _ready;
    private Task _fill = Task.CompletedTask;
    private ChannelMessageQueue? _queue;

    public RoomFeed(string room, RedisBroker broker)
    {
        Room = room;
        _broker = broker;
        Worker = DeliveryWorkers.WorkerOf(room);
        Shard = broker.ShardOfRoom(room);
        Presence = new PresenceWriter(room, broker);
    }

    public string Room { get; }

    string IDeliveryTarget.Name => Room;

    /// <summary>The delivery worker that runs this room's deliveries, one after another.</summary>
    public int Worker { get; }

    /// <summary>The shard that holds the room's keys and carries its channel.</summary>
    public RedisShard Shard { get; }

    /// <summary>This node's entry in the room's presence.</summary>
    public PresenceWriter Presence { get; }

    /// <summary>Whether offset <paramref name="offset"/> of <paramref name="epoch"/> (ASCII) was handed to the node already: an echo, or filled from the stream.</summary>
    public bool IsDelivered(ulong offset, ReadOnlySpan<byte> epoch)
    {
        lock (_lock)
        {
            return _hasBaseline && offset <= _delivered && System.Text.Ascii.Equals(epoch, _epoch);
        }
    }

    /// <summary>Whether the room's channel subscription is registered.</summary>
    public bool HasQueue
    {
        get
        {
            lock (_lock)
            {
                return _queue is not null;
            }
        }
    }

    /// <summary>Whether the last interest was withdrawn.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>Counts one more declaration of interest; false when the feed was closed meanwhile (the caller fetches a fresh one).</summary>
    public bool TryAddInterest()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            _interest++;
            return true;
        }
    }

    /// <summary>
    /// Takes the subscription's queue; false when the last interest was withdrawn meanwhile (the
    /// caller unsubscribes it). Held until the feed closes: StackExchange.Redis re-subscribes it after
    /// a reconnect, and a retried start of the feed reuses it rather than subscribe twice.
    /// </summary>
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

    /// <summary>
    /// Counts one interest less. On the last one the feed closes: <paramref name="onClose"/> runs under
    /// the lock with the subscription's queue, so whatever it starts (removal from the map,
    /// UNSUBSCRIBE) is issued before any new feed of the same room can exist and subscribe.
    /// </summary>
    public bool RemoveInterest(Action<ChannelMessageQueue?> onClose)
    {
        lock (_lock)
        {
            if (_closed || --_interest > 0)
            {
                return false;
            }

            _closed = true;
            _pending.Clear();
            _early.Clear();
            CompleteWaitersLocked(all: true);
            _gapClosed?.TrySetResult();
            onClose(_queue);
            _queue = null;
            return true;
        }
    }

    /// <summary>
    /// The task that subscribes to the room's channel and takes the stream's position as the baseline.
    /// Started by the first caller, shared by the others, started again after a failure.
    /// </summary>
    public Task EnsureReadyAsync(Func<RoomFeed, Task> establish)
    {
        TaskCompletionSource start;
        lock (_lock)
        {
            if (_ready is { IsFaulted: false, IsCanceled: false })
            {
                return _ready;
            }

            if (_closed)
            {
                // Nobody here is in the room any more: a read needs no subscription.
                return Task.CompletedTask;
            }

            start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _ready = start.Task;
        }

        _ = RunAsync();
        return start.Task;

        // Completes the shared task; awaited by every joiner through _ready, so nothing is left unobserved.
        async Task RunAsync()
        {
            try
            {
                await establish(this).ConfigureAwait(false);
                start.TrySetResult();
            }
            catch (Exception ex)
            {
                start.TrySetException(ex);
            }
        }
    }

    /// <summary>Sets where delivery starts: everything up to <paramref name="top"/> is the stream's past, which joiners read.</summary>
    public void SetBaseline(string epoch, ulong top)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            if (!_hasBaseline)
            {
                SetBaselineLocked(epoch, top);
                AfterChangeLocked();
            }
        }
    }

    /// <summary>Offers a publication of <paramref name="epoch"/>, from whatever source; duplicates and echoes are dropped.</summary>
    public void Offer(Publication publication, string epoch)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            if (!_hasBaseline)
            {
                if (_early.Count >= MaxPending)
                {
                    // Without a baseline nothing was delivered yet: dropping the oldest early messages
                    // loses nothing a member saw, and the gap it leaves is filled like any other.
                    _early.RemoveRange(0, MaxPending / 2);
                }

                _early.Add((publication, epoch));
                return;
            }

            OfferLocked(publication, epoch);
            AfterChangeLocked();
        }
    }

    /// <summary>Whether the feed is delivering <paramref name="epoch"/>, so that its offsets are the ones this feed counts.</summary>
    public bool IsEpoch(string epoch)
    {
        lock (_lock)
        {
            return _hasBaseline && _epoch == epoch;
        }
    }

    /// <summary>Completes when offset <paramref name="offset"/> has been handed to the node (or the feed gave up on it).</summary>
    public Task WaitDeliveredAsync(ulong offset)
    {
        lock (_lock)
        {
            if (_closed || (_hasBaseline && _delivered >= offset))
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((offset, done));
            return done.Task;
        }
    }

    /// <summary>Whether the last probe saw a top this feed has not delivered yet: the next probe must look again.</summary>
    public bool IsBehindProbe
    {
        get
        {
            lock (_lock)
            {
                return !_closed && _hasBaseline && _delivered < _probeTop;
            }
        }
    }

    /// <summary>The epoch and the last offset delivered, read before a probe asks Redis for the room's position.</summary>
    public (string Epoch, ulong Offset) Delivered
    {
        get
        {
            lock (_lock)
            {
                return (_epoch, _delivered);
            }
        }
    }

    /// <summary>
    /// The periodic check against the room's position in Redis: an offset that was already the top
    /// one period ago and still is not delivered was lost on the way (pub/sub drops messages while a
    /// subscription reconnects), and so was the whole stream when its epoch changed or vanished.
    /// A top below <paramref name="deliveredBefore"/> (what was delivered before the position was
    /// read; later deliveries may be above it) means Redis handed offsets out again.
    /// </summary>
    public void Probe(string epoch, ulong top, (string Epoch, ulong Offset) deliveredBefore)
    {
        lock (_lock)
        {
            if (_closed || !_hasBaseline)
            {
                return;
            }

            var sameEpoch = epoch == _epoch;
            if (sameEpoch && deliveredBefore.Epoch == epoch && top < deliveredBefore.Offset)
            {
                RotateLocked($"its top in Redis is {top}, below the {deliveredBefore.Offset} delivered before it was read");
            }
            else if ((!sameEpoch && !_retired.Contains(epoch)) || (sameEpoch && _delivered < _probeTop))
            {
                RequestCatchUpLocked();
            }

            _probeTop = sameEpoch ? top : 0;
        }
    }

    /// <summary>Reads the stream after the last delivered offset now, as after a reconnect to Redis.</summary>
    public void RequestCatchUp()
    {
        lock (_lock)
        {
            if (!_closed)
            {
                RequestCatchUpLocked();
            }
        }
    }

    /// <summary>The running fill, for shutdown.</summary>
    public Task Fill
    {
        get
        {
            lock (_lock)
            {
                return _fill;
            }
        }
    }

    /// <summary>On the room's delivery worker: a message of the room's channel, or this node's own publication.</summary>
    public void Deliver(in DeliveryItem item)
    {
        if (item.Local is { } publication)
        {
            Offer(publication, item.Epoch!);
        }
        else
        {
            _broker.OnRoomMessage(this, item.Message);
        }
    }
}
