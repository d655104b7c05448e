using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Hub;

public sealed partial class SwitchboardHub : IBrokerHandler
{
    private const string StreamLostMessage = "the server lost part of the room's stream: join it again with since (it answers recovered:false)";

    /// <inheritdoc/>
    void IBrokerHandler.OnPublication(Publication publication)
    {
        if (!_rooms.TryGetValue(publication.Room, out var room))
        {
            return;
        }

        // Encoded once here (cached on the publication); every member gets the same array. One span per
        // publication and node, never one per member.
        var frame = publication.LiveFrame;
        var members = room.Members;
        var activity = Spans.StartDeliver(publication.Room, publication.TraceContext, out var previous);
        try
        {
            foreach (var member in members)
            {
                member.Deliver(frame, publication.Offset);
            }
        }
        finally
        {
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag(TraceTags.Offset, (long)publication.Offset);
                activity.SetTag(TraceTags.Recipients, members.Length);
            }

            Spans.EndDeliver(activity, previous);
        }
    }

    /// <inheritdoc/>
    void IBrokerHandler.OnDirect(string user, OutboundFrame frame)
    {
        if (_users.TryGetValue(user, out var entry))
        {
            foreach (var connection in entry.Connections)
            {
                connection.TryEnqueue(frame);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Every member here is detached at once, before the broker delivers anything of the stream's new
    /// epoch, and then told (paced, see <see cref="ResyncPacer"/>) with one <c>removed</c> message,
    /// <c>stream_lost</c>, <c>rejoin:true</c>. Its connection and its other rooms carry on.
    /// </remarks>
    void IBrokerHandler.OnStreamLost(string room)
    {
        if (!_rooms.TryGetValue(room, out var local))
        {
            return;
        }

        // Encoded once for every member of the room.
        var removed = OutboundFrame.Text(ServerMessages.Removed(room, ErrorCodes.StreamLost, StreamLostMessage, rejoin: true));
        foreach (var member in local.Members)
        {
            if (member.Detach())
            {
                _resync.Enqueue(member, removed);
            }
        }
    }

    /// <inheritdoc/>
    IReadOnlyList<KeyValuePair<string, int>> IBrokerHandler.LocalPresence(string room) =>
        _rooms.TryGetValue(room, out var local) ? local.Presence() : [];

    /// <inheritdoc/>
    IReadOnlyCollection<string> IBrokerHandler.LocalRooms() => _rooms.Keys.ToArray();

    /// <inheritdoc/>
    void IBrokerHandler.OnPresenceChange(string room, OutboundFrame frame)
    {
        if (_rooms.TryGetValue(room, out var local))
        {
            foreach (var member in local.Members)
            {
                member.Deliver(frame, 0);
            }
        }
    }
}
