using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Connections;

namespace Switchboard.Endpoints;

/// <summary>
/// Cross-origin access to the stream endpoints (<c>/events</c>, <c>/stream</c>, the commands POST) for
/// pages of the origins the WebSocket door admits (<c>Switchboard:AllowedOrigins</c>, the server's own,
/// loopback in Development). A WebSocket needs no CORS, but a page's <c>EventSource</c> and its
/// <c>fetch</c> POSTs do, so without these headers a page served elsewhere could chat over WebSocket
/// and not fall back to SSE. Refusing is still the door's job: a foreign origin gets no CORS header
/// here and the door's 403.
/// </summary>
/// <remarks>
/// Written here rather than with the framework's CORS middleware so that <c>AddSwitchboard()</c>
/// leaves the app's own CORS policies alone and the admitted origins stay one list. An app that wants
/// more can still call <c>RequireCors(...)</c> on what <c>MapSwitchboard()</c> returns.
/// </remarks>
internal static class StreamCors
{
    // How long a browser may reuse a preflight's answer.
    private const string PreflightMaxAgeSeconds = "600";

    /// <summary>Adds the CORS answer to the endpoint's responses for admitted cross-origin pages.</summary>
    public static RouteHandlerBuilder WithStreamCors(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter(async (invocation, next) =>
        {
            AllowIfAdmitted(invocation.HttpContext);
            return await next(invocation).ConfigureAwait(false);
        });

    /// <summary>
    /// Answers a preflight (<c>OPTIONS</c>): 204 with the methods and headers a stream client sends,
    /// for an admitted origin; 403 otherwise.
    /// </summary>
    public static IResult Preflight(HttpContext context)
    {
        if (!AllowIfAdmitted(context))
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST";
        // Authorization for a bearer token, Content-Type for the JSON commands, Last-Event-ID for a
        // fetch-based reader resuming a stream.
        headers.AccessControlAllowHeaders = "Authorization, Content-Type, Last-Event-ID";
        headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
        return Results.NoContent();
    }

    private static bool AllowIfAdmitted(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || !context.RequestServices.GetRequiredService<Admission>().IsOriginAllowed(context))
        {
            return false;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        // Cookies go with a page's EventSource (withCredentials) when the app signs users in.
        headers.AccessControlAllowCredentials = "true";
        headers.Vary = "Origin";
        return true;
    }
}
