using Switchboard.Connections;

namespace Switchboard.Brokers;

/// <summary>
/// The node-side receiver of what a broker delivers. A broker calls these in order per room and per
/// user; implementations must not block, since a broker may call them while holding the room's
/// ordering lock.
/// </summary>
public interface IBrokerHandler
{
    /// <summary>Delivers a room publication to this node's members of the room.</summary>
    void OnPublication(Publication publication);

    /// <summary>Delivers an encoded direct message to this node's connections of <paramref name="user"/>.</summary>
    void OnDirect(string user, OutboundFrame frame);

    /// <summary>Delivers an encoded <c>joined</c>/<c>left</c> event to this node's members of <paramref name="room"/>.</summary>
    void OnPresenceChange(string room, OutboundFrame frame);

    /// <summary>
    /// Tells this node's members of <paramref name="room"/> that the broker lost part of the room's
    /// stream it could not fill. They are detached from the room before this returns (the broker calls
    /// it from the room's one deliverer, before delivering anything of the stream's new epoch) and told,
    /// paced, with <c>removed</c>/<c>stream_lost</c>/<c>rejoin:true</c>, so that they re-join with <c>since</c>.
    /// </summary>
    void OnStreamLost(string room);

    /// <summary>This node's users of <paramref name="room"/> with their connection counts.</summary>
    IReadOnlyList<KeyValuePair<string, int>> LocalPresence(string room);

    /// <summary>The rooms with members on this node.</summary>
    IReadOnlyCollection<string> LocalRooms();
}
