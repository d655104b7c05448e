using System.Buffers;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Transports;

namespace Switchboard.Endpoints;

/// <summary>
/// <c>POST /events/{session}</c>: the commands of a server-sent-events or HTTP-streaming session. The
/// body (one command, or several separated by newlines) is queued for the session's receive loop and
/// answered 202 at once; each command's reply or error arrives in the stream, as on <c>/ws</c>.
/// Refusals are HTTP errors with the API's JSON body. A POST for a session of another node is
/// checked here as far as it can be, then forwarded to that node through the broker's relay, and
/// answered with what the holder made of it (docs/protocol.md, Several nodes).
/// </summary>
internal static class StreamCommandEndpoint
{
    public static async Task<IResult> PostAsync(HttpContext context, string session, StreamSessions streams, ISessionCommandRelay relay, Admission admission, ITokenValidator tokens, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options)
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
            return relay.NodeId is { } self && SessionIds.TryGetNode(session, out var node) && node != self
                ? await ForwardAsync(context, session, node, relay, tokens, metrics, settings).ConfigureAwait(false)
                : UnknownSession();
        }

        if (!await ShowsSameIdentityAsync(context, stream, tokens, settings.Auth.App).ConfigureAwait(false))
        {
            return WrongIdentity();
        }

        var body = await ReadBodyAsync(context, settings.Limits.MaxMessageBytes).ConfigureAwait(false);
        if (body is null)
        {
            return Error(ErrorCodes.BadRequest, $"body exceeds {settings.Limits.MaxMessageBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }

        return stream.Transport.TryPost(body) switch
        {
            PostOutcome.Accepted => Results.StatusCode(StatusCodes.Status202Accepted),
            PostOutcome.Full => InboxFull(),
            _ => UnknownSession(),
        };
    }

    /// <summary>
    /// Sends a POST to the node that holds its session, with the users its credentials prove (never the
    /// credentials themselves), and answers with the holder's verdict; see <see cref="StreamSessions.Accept"/>.
    /// </summary>
    private static async Task<IResult> ForwardAsync(HttpContext context, string session, string node, ISessionCommandRelay relay, ITokenValidator tokens, SwitchboardMetrics metrics, SwitchboardOptions settings)
    {
        var body = await ReadBodyAsync(context, settings.Limits.MaxMessageBytes).ConfigureAwait(false);
        if (body is null)
        {
            return Error(ErrorCodes.BadRequest, $"body exceeds {settings.Limits.MaxMessageBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        }

        // This node cannot know how the stream was opened, so it proves whatever the POST shows.
        string? bearerUser = null;
        if (BearerToken(context) is { } token)
        {
            bearerUser = (await tokens.ValidateAsync(token).ConfigureAwait(false)).Identity?.User;
        }

        var appUser = (await AppPrincipal.IdentifyAsync(context, settings.Auth.App).ConfigureAwait(false))?.Identity?.User;
        var outcome = await relay.ForwardAsync(node, new RelayedPost(session, body, bearerUser, appUser), context.RequestAborted).ConfigureAwait(false);
        metrics.StreamPostsForwarded.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeTag(outcome)));
        return outcome switch
        {
            RelayOutcome.Accepted => Results.StatusCode(StatusCodes.Status202Accepted),
            RelayOutcome.Full => InboxFull(),
            RelayOutcome.Forbidden => WrongIdentity(),
            RelayOutcome.Unavailable => Error(ErrorCodes.Unavailable, "the session's node could not be reached: nothing was posted, retry shortly", StatusCodes.Status503ServiceUnavailable),
            RelayOutcome.NoAnswer => Error(ErrorCodes.Unavailable, "the session's node did not answer in time: the commands may have run, their replies would be in the stream", StatusCodes.Status504GatewayTimeout),
            _ => UnknownSession(),
        };
    }

    private static string OutcomeTag(RelayOutcome outcome) => outcome switch
    {
        RelayOutcome.Accepted => "accepted",
        RelayOutcome.Full => "full",
        RelayOutcome.Forbidden => "forbidden",
        RelayOutcome.Unavailable => "unavailable",
        RelayOutcome.NoAnswer => "no_answer",
        _ => "unknown_session",
    };

    private static string? BearerToken(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > 7 ? authorization[7..].Trim() : null;
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
                if (BearerToken(context) is not { } token)
                {
                    return false;
                }

                var validated = await tokens.ValidateAsync(token).ConfigureAwait(false);
                return validated.Identity?.User == stream.User;
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
        Error("unknown_session", "no such session: it ended, or its node is gone, or it never existed; open a new stream", StatusCodes.Status404NotFound);

    private static IResult WrongIdentity() =>
        Error(ErrorCodes.Forbidden, "this session belongs to another identity: post with the credentials the stream was opened with", StatusCodes.Status403Forbidden);

    private static IResult InboxFull() =>
        Error(ErrorCodes.RateLimited, $"more than {HttpStreamTransport.InboxCapacity} posts are waiting for this session: wait for their replies", StatusCodes.Status429TooManyRequests);

    private static IResult Error(string code, string message, int status) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
