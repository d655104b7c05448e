using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Transports;

/// <summary>
/// The checks every new session passes, whatever its transport, before anything is accepted: drain,
/// origin, the client address's own accept rate and connection count, the node's accept rate, then
/// identity and the anonymous count per address. A refusal is answered here with an HTTP status and a
/// JSON error body; the transport only decides what to do with an identity refused by its close code.
/// </summary>
internal sealed class AdmissionGate(
    IConnectionIdentifier identifier,
    Admission admission,
    ShutdownState shutdown,
    ISessionCommandRelay relay,
    ILogger<AdmissionGate> logger)
{
    /// <summary>
    /// Admits the client of <paramref name="context"/>, or answers it with an HTTP error and returns
    /// null. A deferred identity (no token yet) becomes a 4501 refusal unless
    /// <paramref name="acceptsDeferredAuth"/>. The caller disposes the ticket when the session ends.
    /// </summary>
    public async Task<AdmissionTicket?> EnterAsync(HttpContext context, bool acceptsDeferredAuth, Activity? connect)
    {
        if (shutdown.IsDraining)
        {
            await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, "server shutting down", connect).ConfigureAwait(false);
            return null;
        }

        if (!admission.IsOriginAllowed(context))
        {
            Log.OriginRefused(logger, context.Request.Headers.Origin.ToString());
            await RespondAsync(context, StatusCodes.Status403Forbidden, "origin not allowed", connect).ConfigureAwait(false);
            return null;
        }

        // The address's own limits come before the node's: a client refused for its address must not
        // spend a token of the node-wide bucket that every other client shares.
        var address = Admission.ClientAddress(context);
        if (!admission.TryAcceptFrom(address))
        {
            context.Response.Headers.RetryAfter = "1";
            await RespondAsync(context, StatusCodes.Status429TooManyRequests, "too many new connections from this address, retry shortly", connect).ConfigureAwait(false);
            return null;
        }

        if (!admission.TryCountIp(address))
        {
            await RespondAsync(context, StatusCodes.Status429TooManyRequests, "too many connections from this address", connect).ConfigureAwait(false);
            return null;
        }

        var anonymousCounted = false;
        var admitted = false;
        try
        {
            if (!admission.TryAcceptNow())
            {
                context.Response.Headers.RetryAfter = "1";
                await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, "too many new connections, retry shortly", connect).ConfigureAwait(false);
                return null;
            }

            // WebSocket sessions share the format of HTTP streams' ids, which name their node (SessionIds).
            var session = SessionIds.Create(relay.NodeId);
            var identity = await identifier.IdentifyAsync(context, session).ConfigureAwait(false);
            if (identity.Deferred && !acceptsDeferredAuth)
            {
                identity = IdentityResult.Refuse(CloseCodes.Unauthorized, "a token is required on this endpoint");
            }

            if (identity.Identity is { IsAnonymous: true })
            {
                anonymousCounted = admission.TryCountAnonymous(address);
                if (!anonymousCounted)
                {
                    await RespondAsync(context, StatusCodes.Status429TooManyRequests, "too many anonymous connections from this address", connect).ConfigureAwait(false);
                    return null;
                }
            }

            admitted = true;
            return new AdmissionTicket(admission, address, anonymousCounted, session, identity);
        }
        finally
        {
            if (!admitted)
            {
                admission.ReleaseIp(address);
            }
        }
    }

    /// <summary>Answers a refused request with <paramref name="status"/> and <c>{"error":{"code":...,"message":...}}</c>.</summary>
    public static Task RespondAsync(HttpContext context, int status, string reason, Activity? connect)
    {
        Spans.RefusedUpgrade(connect, status, reason);
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { code = status == StatusCodes.Status403Forbidden ? ErrorCodes.Forbidden : "refused", message = reason } });
    }
}
