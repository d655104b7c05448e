using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Hub;

/// <summary>
/// One connection's membership of one room. A new membership starts out buffering: deliveries that
/// arrive while its join reads the room's stream are held, then released after the join reply with
/// anything the reply already covered left out. That makes "reply, then every later offset" exact,
/// with no gap and no duplicate, even when the stream read is asynchronous.
/// </summary>
internal sealed class Subscription
{
    private const int Joining = 0;
    private const int Live = 1;
    private const int Left = 2;

    private int _state;
    private List<(OutboundFrame Frame, ulong Offset)>? _held = [];

    public Subscription(Connection connection, string room)
    {
        Connection = connection;
        Room = room;
    }

    public Connection Connection { get; }

    public string Room { get; }

    /// <summary>Queues a frame, or holds it while joining. <paramref name="offset"/> is 0 for frames outside the stream (presence).</summary>
    public void Deliver(OutboundFrame frame, ulong offset)
    {
        var state = Volatile.Read(ref _state);
        if (state == Live)
        {
            Connection.TryEnqueue(frame);
            return;
        }

        if (state == Left)
        {
            return;
        }

        lock (this)
        {
            if (_state == Joining)
            {
                _held!.Add((frame, offset));
                return;
            }

            if (_state == Left)
            {
                return;
            }
        }

        Connection.TryEnqueue(frame);
    }

    /// <summary>
    /// Ends the joining phase: queues <paramref name="first"/> (the join reply or recovered messages),
    /// then the held frames whose offset is above <paramref name="covered"/>, then goes live.
    /// </summary>
    public void GoLive(IEnumerable<OutboundFrame> first, ulong covered)
    {
        lock (this)
        {
            foreach (var frame in first)
            {
                Connection.TryEnqueue(frame);
            }

            foreach (var (frame, offset) in _held!)
            {
                if (offset == 0 || offset > covered)
                {
                    Connection.TryEnqueue(frame);
                }
            }

            _held = null;
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
}
