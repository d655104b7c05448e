namespace Switchboard.Client;

/// <summary>How a connection reaches the server (protocol.md, "Transports").</summary>
public enum ClientTransport
{
    /// <summary>A WebSocket to <c>/ws</c>: the preferred transport, the only one with binary publishes.</summary>
    WebSocket,

    /// <summary>Server-sent events: <c>GET /events</c> carries the server's messages, commands go out as <c>POST /events/{session}</c>.</summary>
    ServerSentEvents,
}
