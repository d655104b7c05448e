namespace Switchboard.Dashboard;

/// <summary>One second of the node, as sent on <c>/dashboard/stats</c> (event <c>stats</c>).</summary>
/// <param name="Time">When it was sampled (Unix milliseconds).</param>
/// <param name="Node">This node's id.</param>
/// <param name="Broker">The broker in use (<c>memory</c>, <c>redis</c>).</param>
/// <param name="Cluster">True when <paramref name="Nodes"/> lists every live node, false when only this one.</param>
/// <param name="Unavailable">Null while the broker serves; otherwise why it cannot (<c>/readyz</c> answers 503 meanwhile).</param>
/// <param name="Connections">Open WebSocket connections (gauge <c>switchboard.connections</c>).</param>
/// <param name="Users">Distinct users on <c>/ws</c>.</param>
/// <param name="Rooms">Protocol rooms with members on this node.</param>
/// <param name="QueuedMessages">Messages waiting in all outbound queues.</param>
/// <param name="QueuedBytes">Bytes waiting in all outbound queues.</param>
/// <param name="PerSecond">Rates over the last second.</param>
/// <param name="Totals">Every untagged counter's total since the node started, by instrument name without <c>switchboard.</c>.</param>
/// <param name="Closes">Server-initiated closes by close code.</param>
/// <param name="Errors">Error replies by error code.</param>
/// <param name="TopRooms">The rooms with the most connections on this node, with their publication rate.</param>
/// <param name="BusiestRooms">Of the biggest rooms, those with publications in the last second, busiest first.</param>
/// <param name="Nodes">The nodes' latest reports.</param>
internal sealed record StatsSnapshot(
    long Time,
    string Node,
    string Broker,
    bool Cluster,
    string? Unavailable,
    long Connections,
    long Users,
    long Rooms,
    long QueuedMessages,
    long QueuedBytes,
    StatsSample PerSecond,
    SortedDictionary<string, long> Totals,
    SortedDictionary<string, long> Closes,
    SortedDictionary<string, long> Errors,
    IReadOnlyList<RoomStats> TopRooms,
    IReadOnlyList<RoomStats> BusiestRooms,
    IReadOnlyList<NodeReport> Nodes);

/// <summary>Rates over one second; the dashboard's chart is a series of these (event <c>history</c> sends the last minutes).</summary>
internal sealed record StatsSample(long Time, double MessagesIn, double MessagesOut, double BytesIn, double BytesOut, double Publications, long Connections);

/// <summary>A room on this node: members, and its stream's top offset and publications per second (null when unknown).</summary>
internal sealed record RoomStats(string Room, int Connections, int Users, ulong? Top, double? PerSecond);
