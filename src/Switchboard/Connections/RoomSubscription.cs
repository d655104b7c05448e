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
/// <para>A membership whose room lost part of its stream is detached at once (<see cref="Detach"/>):
/// nothing more is delivered, so no offset of the stream's new epoch can reach a client that holds a
/// position of the old one. The client is told later, paced (<see cref="TryTellLost"/>); until then it
/// still counts itself a member, and its entry stays in <see cref="Connection.Rooms"/>, which only the
/// connection's own receive loop changes.</para>
/// <para>The room's broker delivers one room's publications one at a time and in offset order, so in the
/// live state <see cref="_lastOffset"/> is only touched by that single deliverer; the hand-over from
/// <see cref="GoLive"/> happens under the lock and is published by the volatile write of the state.</para>
/// </remarks>
public sealed class RoomSubscription
{
    private const int Joining = 0;
    private const int Live = 1;
    private const int Left = 2;

    // Detached by a stream loss; the client has not been told yet.
    private const int Lost = 3;

    // Detached by a stream loss, and the client was told (a removed message queued).
    private const int Told = 4;

    private readonly int _maxHeld;
    private int _state;
    private ulong _lastOffset;
    private List<(OutboundFrame Frame, ulong Offset)>? _held = [];

    // A stream loss that came while joining: the join's reply must go out first, so the removal waits for it.
    private bool _lostWhileJoining;
    private OutboundFrame? _toldAfterReply;

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
    /// Whether the client still counts itself a member: false once it was told the membership ended
    /// (a queued <c>removed</c>) or the membership was left. A stale entry of <see cref="Connection.Rooms"/>
    /// is pruned by the next join of its room.
    /// </summary>
    public bool IsCurrent => Volatile.Read(ref _state) is Joining or Live or Lost;

    /// <summary>Whether the membership is detached by a stream loss and its client not yet told.</summary>
    public bool AwaitsLostNotice => Volatile.Read(ref _state) == Lost;

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
                if (_state == Joining)
                {
                    Hold(frame, offset);
                    return;
                }

                // Left, or detached by a stream loss. The feed that detaches a room's members is the one
                // that delivers its offsets, one at a time, so no delivery races past the detach.
                if (_state != Live)
                {
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
            if (_state == Lost && _lostWhileJoining)
            {
                AnswerJoinOfLostMembership(first);
                return;
            }

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

    /// <summary>
    /// The join of a membership detached while it read still gets its reply (a client waits for it),
    /// but nothing held: the held deliveries may mix the stream's old and new epochs. The removal, if
    /// it was due already, follows the reply; otherwise it comes paced, like any other.
    /// </summary>
    private void AnswerJoinOfLostMembership(IEnumerable<OutboundFrame> first)
    {
        foreach (var frame in first)
        {
            Connection.TryEnqueue(frame);
        }

        _lostWhileJoining = false;
        if (_toldAfterReply is { } removed)
        {
            _toldAfterReply = null;
            Volatile.Write(ref _state, Told);
            Connection.TryEnqueue(removed);
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

    /// <summary>
    /// Detaches the membership after its room lost part of its stream: no further delivery of the room
    /// reaches the connection, held ones included. False when it was already detached or left.
    /// </summary>
    public bool Detach()
    {
        lock (this)
        {
            if (_state is not (Joining or Live))
            {
                return false;
            }

            _lostWhileJoining = _state == Joining;
            _held = null;
            Volatile.Write(ref _state, Lost);
            return true;
        }
    }

    /// <summary>
    /// Tells the client that the detached membership ended, by queuing <paramref name="removed"/>;
    /// when its join is still reading, right after the join's reply instead. False when there is
    /// nobody to tell any more: the member left, re-joined or closed since it was detached.
    /// </summary>
    public bool TryTellLost(OutboundFrame removed)
    {
        lock (this)
        {
            if (_state != Lost)
            {
                return false;
            }

            if (_lostWhileJoining)
            {
                _toldAfterReply = removed;
                return true;
            }

            Volatile.Write(ref _state, Told);
            Connection.TryEnqueue(removed);
            return true;
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
