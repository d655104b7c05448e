using System.Buffers;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Transports;

namespace Switchboard.Endpoints;

/// <summary>
/// <c>POST /events/{session}</c>: the commands of a server-sent-events or HTTP-streaming session. The
/// body (one command, or several separated by newlines) is queued for the session's receive loop and
/// answered 202 at once; each command's reply or error arrives in the stream, as on <c>/ws</c>.
/// Refusals are HTTP errors with the API's JSON body.
/// </summary>
internal static class StreamCommandEndpoint
{
    public static async Task<IResult> PostAsync(HttpContext context, string session, StreamSessions streams, Admission admission, ITokenValidator tokens, IOptions<SwitchboardOptions> options)
    {
        var settings = options.Value;
        // The stream's own origin rules: otherwise a page the stream's origin check refused could
        // still post commands, had it learned a session id.
        if (!admission.IsOriginAllowed(context))
        {
            return Error(ErrorCodes.Forbidden, "origin not allowed", StatusCodes.Status403Forbidden);
        }

        // As the HTTP API: text/plain and form bodies need no CORS preflight, so a page could post them
        // anywhere; application/json (or NDJSON, for several commands) always needs one.
        if (!IsCommandContentType(context.Request.ContentType))
        {
            return Error(ErrorCodes.BadRequest, "Content-Type must be application/json or application/x-ndjson", StatusCodes.Status415UnsupportedMediaType);
        }

        if (streams.Find(session) is not { } stream)
        {
            return UnknownSession();
        }

        if (!await ShowsSameIdentityAsync(context, stream, tokens, settings.Auth.App).ConfigureAwait(false))
        {
            return Error(ErrorCodes.Forbidden, "this session belongs to another identity: post with the credentials the stream was opened with", StatusCodes.Status403Forbidden);
        }

        var body = await ReadBodyAsync(context, settings.Limits.MaxMessageBytes).ConfigureAwait(false);
        if (body is null)
        {
            return Error(ErrorCodes.BadRequest, $"body exceeds {settings.Limits.MaxMessageBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }

        return stream.Transport.TryPost(body) switch
        {
            PostOutcome.Accepted => Results.StatusCode(StatusCodes.Status202Accepted),
            PostOutcome.Full => Error(ErrorCodes.RateLimited, $"more than {HttpStreamTransport.InboxCapacity} posts are waiting for this session: wait for their replies", StatusCodes.Status429TooManyRequests),
            _ => UnknownSession(),
        };
    }

    private static bool IsCommandContentType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType is { } media
        && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A stream opened with an <c>Authorization</c> header or the app's sign-in was proven by
    /// something its client sends with every request; its POSTs must show it again, for the same user.
    /// A stream opened otherwise (<c>?token=</c>, <c>?user=</c>, anonymous) is bound to its session id alone.
    /// </summary>
    private static async ValueTask<bool> ShowsSameIdentityAsync(HttpContext context, StreamSession stream, ITokenValidator tokens, AppAuthOptions app)
    {
        switch (stream.Credential)
        {
            case PostCredential.BearerHeader:
                var authorization = context.Request.Headers.Authorization.ToString();
                if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length <= 7)
                {
                    return false;
                }

                var token = await tokens.ValidateAsync(authorization[7..].Trim()).ConfigureAwait(false);
                return token.Identity?.User == stream.User;
            case PostCredential.App:
                var signedIn = await AppPrincipal.IdentifyAsync(context, app).ConfigureAwait(false);
                return signedIn?.Identity?.User == stream.User;
            default:
                return true;
        }
    }

    /// <summary>Reads the body, at most <paramref name="limit"/> bytes; null when it is longer.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, int limit)
    {
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Min(limit + 1, 4096));
        var body = context.Request.Body;
        while (true)
        {
            var read = await body.ReadAsync(buffer.GetMemory(1), context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return null;
            }
        }
    }

    private static IResult UnknownSession() =>
        Error("unknown_session", "no such session on this node: it ended, or never existed; open a new stream", StatusCodes.Status404NotFound);

    private static IResult Error(string code, string message, int status) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
