using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Hub;

public sealed partial class SwitchboardHub : IBrokerHandler
{
    /// <inheritdoc/>
    void IBrokerHandler.OnPublication(Publication publication)
    {
        if (!_rooms.TryGetValue(publication.Room, out var room))
        {
            return;
        }

        // Encoded once here (cached on the publication); every member gets the same array.
        var frame = publication.LiveFrame;
        foreach (var member in room.Members)
        {
            member.Deliver(frame, publication.Offset);
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
