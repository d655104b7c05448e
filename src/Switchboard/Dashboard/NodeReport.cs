namespace Switchboard.Dashboard;

/// <summary>One node's figures as other nodes' dashboards show them.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Connections">Open WebSocket connections.</param>
/// <param name="Rooms">Protocol rooms with members on the node.</param>
/// <param name="MessagesInPerSecond">Messages received from clients per second.</param>
/// <param name="MessagesOutPerSecond">Messages written to clients per second.</param>
/// <param name="Time">When the node made the report (Unix milliseconds).</param>
public sealed record NodeReport(string Id, int Connections, int Rooms, double MessagesInPerSecond, double MessagesOutPerSecond, long Time);
