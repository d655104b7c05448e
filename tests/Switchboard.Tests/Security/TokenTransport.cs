namespace Switchboard.Tests.Security;

/// <summary>Where a client puts its token in the WebSocket upgrade request.</summary>
public enum TokenTransport
{
    /// <summary><c>Authorization: Bearer TOKEN</c>, for clients that can set headers.</summary>
    Header,

    /// <summary><c>Sec-WebSocket-Protocol: switchboard.v1, bearer.TOKEN</c>, as a browser does.</summary>
    SubProtocol,

    /// <summary><c>?token=TOKEN</c>, the fallback.</summary>
    Query,
}
