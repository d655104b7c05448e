using Switchboard.Protocol;

namespace Switchboard.Connections;

/// <summary>
/// One connection's membership of one room: the part of a session that turns the room's deliveries
/// into queue writes. A new membership starts out holding: deliveries that arrive while its join
/// reads the room's stream are kept, then released after the join reply with everything the reply
/// already covered left out. From then on it lets each offset through once, in order. That makes
/// "reply, then every later offset" exact, with no gap and no duplicate, however the stream read and
/// the live feed interleave.
/// </summary>
/// <remarks>
/// The room's broker delivers one room's publications one at a time and in offset order, so in the
/// live state <see cref="_lastOffset"/> is only touched by that single deliverer; the hand-over from
/// <see cref="GoLive"/> happens under the lock and is published by the volatile write of the state.
/// </remarks>
public sealed class RoomSubscription
{
    private const int Joining = 0;
    private const int Live = 1;
    private const int Left = 2;

    private readonly int _maxHeld;
    private int _state;
    private ulong _lastOffset;
    private List<(OutboundFrame Frame, ulong Offset)>? _held = [];

    /// <summary>Creates a membership in the joining state.</summary>
    /// <param name="connection">The member.</param>
    /// <param name="room">The room.</param>
    /// <param name="maxHeld">
    /// How many deliveries may be held while joining; past it the member is closed as a slow consumer,
    /// exactly as its outbound queue would have closed it had they been queued.
    /// </param>
    public RoomSubscription(Connection connection, string room, int maxHeld)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        Room = room;
        _maxHeld = maxHeld;
    }

    /// <summary>The member.</summary>
    public Connection Connection { get; }

    /// <summary>The room.</summary>
    public string Room { get; }

    /// <summary>The highest offset handed to the connection (or covered by its join reply).</summary>
    public ulong LastOffset => Volatile.Read(ref _lastOffset);

    /// <summary>
    /// Queues a frame, or holds it while joining. <paramref name="offset"/> is 0 for frames outside the
    /// stream (presence events), which are never deduplicated.
    /// </summary>
    public void Deliver(OutboundFrame frame, ulong offset)
    {
        if (Volatile.Read(ref _state) != Live)
        {
            lock (this)
            {
                if (_state == Left)
                {
                    return;
                }

                if (_state == Joining)
                {
                    Hold(frame, offset);
                    return;
                }
            }
        }

        if (offset != 0)
        {
            if (offset <= _lastOffset)
            {
                // Already covered by the join reply or delivered: an offset passes once.
                return;
            }

            Volatile.Write(ref _lastOffset, offset);
        }

        Connection.TryEnqueue(frame);
    }

    /// <summary>
    /// Ends the joining phase: queues <paramref name="first"/> (the join reply or the recovered
    /// messages), then the held frames above <paramref name="covered"/> in the order they came, then
    /// goes live, letting through only offsets above the last one queued.
    /// </summary>
    public void GoLive(IEnumerable<OutboundFrame> first, ulong covered)
    {
        ArgumentNullException.ThrowIfNull(first);
        lock (this)
        {
            if (_state != Joining)
            {
                return;
            }

            foreach (var frame in first)
            {
                Connection.TryEnqueue(frame);
            }

            var last = covered;
            foreach (var (frame, offset) in _held!)
            {
                if (offset == 0)
                {
                    Connection.TryEnqueue(frame);
                }
                else if (offset > last)
                {
                    last = offset;
                    Connection.TryEnqueue(frame);
                }
            }

            _held = null;
            _lastOffset = last;
            Volatile.Write(ref _state, Live);
        }
    }

    /// <summary>Stops all further deliveries, including those racing with the leave.</summary>
    public void MarkLeft()
    {
        lock (this)
        {
            _held = null;
            Volatile.Write(ref _state, Left);
        }
    }

    private void Hold(OutboundFrame frame, ulong offset)
    {
        if (_held!.Count >= _maxHeld)
        {
            _held = null;
            Volatile.Write(ref _state, Left);
            Connection.CloseAsSlowConsumer("slow consumer: too many messages arrived while joining " + Room);
            return;
        }

        _held.Add((frame, offset));
    }
}
