using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

/// <summary>
/// Requires one of <c>Api:Keys</c> on every HTTP API call, as <c>Authorization: Bearer KEY</c> or
/// <c>X-Api-Key: KEY</c>. Keys are compared as SHA-256 digests with a fixed-time comparison, so
/// neither the content nor the length of a key leaks through timing.
/// </summary>
internal sealed class ApiKeyFilter : IEndpointFilter
{
    private readonly byte[][] _digests;
    private readonly bool _allowWithoutKey;

    public ApiKeyFilter(IOptions<SwitchboardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _digests = options.Value.Api.Keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
        _allowWithoutKey = options.Value.Api.AllowWithoutKey;
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (_allowWithoutKey || IsAuthorized(context.HttpContext.Request))
        {
            return await next(context).ConfigureAwait(false);
        }

        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Json(
            new { error = new { code = ErrorCodes.Unauthorized, message = _digests.Length == 0 ? "the HTTP API is disabled: no Switchboard:Api:Keys configured" : "a valid API key is required" } },
            statusCode: StatusCodes.Status401Unauthorized);
    }

    private bool IsAuthorized(HttpRequest request)
    {
        var key = request.Headers["X-Api-Key"].ToString();
        var authorization = request.Headers.Authorization.ToString();
        if (key.Length == 0 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            key = authorization[7..].Trim();
        }

        if (key.Length == 0)
        {
            return false;
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var match = false;
        foreach (var known in _digests)
        {
            // Every key is compared, matched or not, so the position of a match does not leak either.
            match |= CryptographicOperations.FixedTimeEquals(digest, known);
        }

        return match;
    }
}
