using Microsoft.AspNetCore.Http;

namespace Switchboard.Identity;

/// <summary>
/// The one step that decides who a new connection is, before the WebSocket is accepted. Register
/// your own implementation before <c>AddSwitchboard()</c> to plug in another scheme.
/// </summary>
public interface IConnectionIdentifier
{
    /// <summary>Identifies the upgrade request <paramref name="context"/>.</summary>
    ValueTask<IdentityResult> IdentifyAsync(HttpContext context, string session);
}
