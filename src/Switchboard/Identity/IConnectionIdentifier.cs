using Microsoft.AspNetCore.Http;

namespace Switchboard.Identity;

/// <summary>
/// The one step that decides who a new connection is, before the WebSocket is accepted. Replace it
/// (register your own implementation) to plug in real authentication.
/// </summary>
public interface IConnectionIdentifier
{
    /// <summary>
    /// Returns the connection's identity, or a refusal with the HTTP status and reason to answer the
    /// upgrade request with.
    /// </summary>
    ValueTask<IdentityResult> IdentifyAsync(HttpContext context, string session);
}
