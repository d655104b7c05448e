using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Telemetry;

namespace Switchboard.Transports;

/// <summary>
/// The door of server-sent events (<c>GET /events</c>) and HTTP streaming (<c>/stream</c>): the same
/// admission as a WebSocket, then the response is started as a stream and handed as a transport to the
/// <see cref="SessionHost"/>, and the session is findable by id for its POSTed commands while it runs.
/// </summary>
internal sealed class HttpStreamAcceptor(
    SessionHost sessions,
    AdmissionGate gate,
    StreamSessions streams,
    SwitchboardMetrics metrics,
    IOptions<SwitchboardOptions> options,
    ILogger<HttpStreamAcceptor> logger)
{
    /// <summary>The header a browser's <c>EventSource</c> sends back on reconnect with the last event id it saw.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    public async Task RunAsync(HttpContext context, IConnectionBehavior behavior, IStreamFraming framing)
    {
        using var connect = Spans.StartConnect();
        // A stream has no first message to authenticate with: its commands come later, by POST, and
        // need the session id that only the welcome gives. So a token is required up front.
        using var ticket = await gate.EnterAsync(context, acceptsDeferredAuth: false, connect).ConfigureAwait(false);
        if (ticket is null)
        {
            return;
        }

        var settings = options.Value;
        try
        {
            await StartStreamAsync(context, framing).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client left before the stream started: there is no session to run.
            return;
        }
        var cursor = framing.CarriesIds ? StreamCursor.Parse(context.Request.Headers[LastEventIdHeader], settings.Limits.MaxRoomsPerConnection) : null;
        using var transport = new HttpStreamTransport(context, framing, cursor, settings.Heartbeat, metrics);
        if (ticket.Identity.Identity is not { } identity)
        {
            // Refused by its identity: as a WebSocket is closed right after the upgrade, the stream
            // carries only the close message, so that a browser can read the code.
            await RefuseAsync(transport, ticket.Identity.CloseCode, ticket.Identity.Reason!, connect).ConfigureAwait(false);
            return;
        }

        var session = new StreamSession(ticket.Session, transport, identity.User, CredentialOf(context, identity));
        streams.Add(session);
        try
        {
            await sessions.RunAsync(transport, ticket.Session, identity, behavior, context.Request.Path, (code, reason) => RefuseAsync(transport, code, reason, connect), connect).ConfigureAwait(false);
        }
        finally
        {
            streams.Remove(session);
        }
    }

    /// <summary>
    /// What the session's POSTs must show: the same kind of proof the stream's request showed when it
    /// could have been sent again (a header, the app's sign-in); only the session id otherwise.
    /// </summary>
    private static PostCredential CredentialOf(HttpContext context, ConnectionIdentity identity) => identity.Source switch
    {
        IdentitySource.App => PostCredential.App,
        IdentitySource.Token when context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) => PostCredential.BearerHeader,
        _ => PostCredential.SessionId,
    };

    private static async Task StartStreamAsync(HttpContext context, IStreamFraming framing)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = framing.ContentType;
        response.Headers.CacheControl = "no-cache";
        // nginx buffers proxied responses unless told not to: a buffered stream is no stream.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Ends a stream refused before its session existed; nothing else writes to it yet.</summary>
    private async Task RefuseAsync(HttpStreamTransport transport, int code, string reason, Activity? connect)
    {
        metrics.Closes.Add(1, new KeyValuePair<string, object?>("code", code));
        Log.Refused(logger, code, reason);
        Spans.Refused(connect, code, reason);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.Limits.CloseTimeoutSeconds));
        try
        {
            await transport.CloseAsync(code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went away or stopped reading; it is refused either way.
        }
    }
}
