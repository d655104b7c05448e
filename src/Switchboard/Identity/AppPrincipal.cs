using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Identity;

/// <summary>
/// The connection's identity from the hosting app's own authentication, as SignalR takes
/// <c>Context.User</c>: the user the app's middleware or the endpoint's policy set, or the result of
/// the configured scheme. The user id is the <c>NameIdentifier</c> (then <c>sub</c>) claim unless
/// another is configured; the rooms claim grants rooms as a token's does.
/// </summary>
internal static class AppPrincipal
{
    /// <summary>
    /// An accepted or refused identity when the request's user is signed in; null when it is not (or
    /// the option is off), so that Switchboard's own token and anonymous rules decide.
    /// </summary>
    public static async ValueTask<IdentityResult?> IdentifyAsync(HttpContext context, AppAuthOptions options)
    {
        if (!options.Enabled)
        {
            return null;
        }

        // Read from the feature rather than HttpContext.User, whose getter creates (and the request then
        // keeps for the connection's whole life) an empty principal when no authentication ran.
        var principal = context.Features.Get<IHttpAuthenticationFeature>()?.User;
        if (options.Scheme is { } scheme)
        {
            var result = await context.AuthenticateAsync(scheme).ConfigureAwait(false);
            principal = result.Succeeded ? result.Principal : null;
        }

        if (principal is null || !principal.Identities.Any(i => i.IsAuthenticated))
        {
            return null;
        }

        // A signed-in user the app forgot to give an id is an app bug; letting it in anonymously, or as
        // a token's user, would hide it, so it is refused like any identity Switchboard cannot read.
        var claim = options.UserClaim is { } type
            ? ClaimMapping.FindUser(principal.Claims, type)
            : ClaimMapping.FindUser(principal.Claims, ClaimTypes.NameIdentifier, "sub");
        if (claim is null)
        {
            var expected = options.UserClaim ?? "NameIdentifier or sub";
            return IdentityResult.Refuse(CloseCodes.Unauthorized, $"the signed-in user has no {expected} claim to take the user id from");
        }

        if (!NameRules.IsValid(claim.Value))
        {
            return IdentityResult.Refuse(CloseCodes.Unauthorized, "the signed-in user's id must be " + ClaimMapping.UserRule);
        }

        return IdentityResult.Accept(ConnectionIdentity.FromApp(claim.Value, ClaimMapping.ReadRooms(principal.Claims, options.RoomsClaim)));
    }
}
