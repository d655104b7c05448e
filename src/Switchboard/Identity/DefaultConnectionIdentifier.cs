using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Identity;

/// <summary>
/// Takes the user the hosting app's own authentication signed in, when there is one and
/// <c>Auth:App:Enabled</c> allows it. Otherwise finds a token in the upgrade request, in this order: <c>Authorization: Bearer</c>, the
/// <c>Sec-WebSocket-Protocol</c> entry <c>bearer.TOKEN</c> (browsers cannot set headers, and this keeps
/// tokens out of URLs and access logs), then <c>?token=</c>. Without a token: the development
/// <c>?user=</c>, then anonymous access, each only when configured; otherwise the connection must
/// authenticate with its first message.
/// </summary>
internal sealed class DefaultConnectionIdentifier(IOptions<SwitchboardOptions> options, ITokenValidator tokens) : IConnectionIdentifier
{
    /// <summary>The subprotocol a browser offers with its token, and the one the server selects.</summary>
    public const string SubProtocol = "switchboard.v1";

    /// <summary>The prefix of the subprotocol entry that carries a token.</summary>
    public const string BearerProtocolPrefix = "bearer.";

    public async ValueTask<IdentityResult> IdentifyAsync(HttpContext context, string session)
    {
        var auth = options.Value.Auth;
        if (await AppPrincipal.IdentifyAsync(context, auth.App).ConfigureAwait(false) is { } fromApp)
        {
            return fromApp;
        }

        if (FindToken(context) is { } token)
        {
            return await tokens.ValidateAsync(token).ConfigureAwait(false);
        }

        var claimed = context.Request.Query["user"].ToString();
        if (auth.AllowQueryUser && claimed.Length > 0)
        {
            return NameRules.IsValid(claimed)
                ? IdentityResult.Accept(ConnectionIdentity.Unverified(claimed, anonymous: false))
                : IdentityResult.Refuse(CloseCodes.Unauthorized, "user must be " + ClaimMapping.UserRule);
        }

        if (auth.AllowAnonymous)
        {
            return IdentityResult.Accept(ConnectionIdentity.Unverified("anon-" + session, anonymous: true));
        }

        return tokens.Enabled
            ? IdentityResult.Defer()
            : IdentityResult.Refuse(CloseCodes.Unauthorized, "anonymous access is disabled and this server accepts no tokens");
    }

    private static string? FindToken(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7)
        {
            return authorization[7..].Trim();
        }

        foreach (var protocol in context.WebSockets.WebSocketRequestedProtocols)
        {
            if (protocol.StartsWith(BearerProtocolPrefix, StringComparison.Ordinal) && protocol.Length > BearerProtocolPrefix.Length)
            {
                return protocol[BearerProtocolPrefix.Length..];
            }
        }

        var query = context.Request.Query["token"].ToString();
        return query.Length > 0 ? query : null;
    }
}
