using Microsoft.AspNetCore.Connections;

namespace KestrelConnPeer;

/// <summary>Kestrel's connection layer hands every accepted connection here: no HTTP pipeline, no <c>HttpContext</c>.</summary>
public sealed class WebSocketConnectionHandler(Rooms rooms) : ConnectionHandler
{
    /// <summary>Not async itself, so the connection waits in one state machine (the member's), not two.</summary>
    public override Task OnConnectedAsync(ConnectionContext connection) => Member.RunAsync(connection, rooms);
}
