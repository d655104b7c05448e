namespace Switchboard.Brokers;

/// <summary>The <c>reason</c> tag of <c>switchboard.history.dropped</c>: which budget pushed a publication out of history early, or kept it out.</summary>
internal static class DropReasons
{
    /// <summary><c>History:MaxBytesPerRoom</c>: the room's oldest went to make room (or the publication alone is larger).</summary>
    public const string RoomBytes = "room_bytes";

    /// <summary><c>History:MaxBytesPerUser</c>: the publisher's retained history is full, so the publication was not kept.</summary>
    public const string UserBytes = "user_bytes";

    /// <summary><c>History:MaxBytesPerNode</c>: the node's oldest went to make room.</summary>
    public const string NodeBytes = "node_bytes";
}
