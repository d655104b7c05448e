using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Identity;

/// <summary>
/// Identity before real authentication: anonymous users named after their session, or, in the
/// explicitly insecure development mode (<c>Auth:AllowQueryUser</c>), whatever <c>?user=</c> says.
/// </summary>
internal sealed class DefaultConnectionIdentifier(IOptions<SwitchboardOptions> options) : IConnectionIdentifier
{
    public ValueTask<IdentityResult> IdentifyAsync(HttpContext context, string session)
    {
        var auth = options.Value.Auth;
        var claimed = context.Request.Query["user"].ToString();
        if (auth.AllowQueryUser && claimed.Length > 0)
        {
            return ValueTask.FromResult(NameRules.IsValid(claimed)
                ? IdentityResult.Accept(claimed)
                : IdentityResult.Refuse(StatusCodes.Status400BadRequest, "user must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +"));
        }

        return ValueTask.FromResult(auth.AllowAnonymous
            ? IdentityResult.Accept("anon-" + session)
            : IdentityResult.Refuse(StatusCodes.Status401Unauthorized, "anonymous connections are not allowed"));
    }
}
