namespace Switchboard.Tests.Infrastructure;

/// <summary>The transports a protocol session can run on; the protocol suite runs over each.</summary>
public enum SessionTransport
{
    /// <summary><c>/ws</c>.</summary>
    WebSocket,

    /// <summary><c>GET /events</c> (text/event-stream), commands by <c>POST /events/{session}</c>.</summary>
    ServerSentEvents,

    /// <summary><c>GET /stream</c> (newline-delimited JSON), commands by <c>POST /events/{session}</c>.</summary>
    HttpStream,
}
