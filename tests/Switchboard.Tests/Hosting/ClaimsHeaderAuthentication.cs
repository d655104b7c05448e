using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// An app's own authentication in miniature: the request is signed in with the claims its
/// <see cref="Header"/> lists, <c>type=value</c> pairs separated by <c>;</c> (<c>id</c> stands for
/// <see cref="ClaimTypes.NameIdentifier"/>). Without the header, nobody is signed in.
/// </summary>
public sealed class ClaimsHeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "TestClaims";
    public const string Header = "X-Test-Claims";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var header) || string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var claims = header.ToString().Split(';', StringSplitOptions.RemoveEmptyEntries).Select(pair =>
        {
            var (type, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            return new Claim(type == "id" ? ClaimTypes.NameIdentifier : type, value);
        });
        var identity = new ClaimsIdentity(claims, Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }
}
