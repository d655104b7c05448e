using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Transports;

/// <summary>
/// The WebSocket door: refuses upgrades that must not go ahead, admits and identifies the client,
/// accepts the socket, and hands it as a transport to the <see cref="SessionHost"/> that owns the
/// session's life.
/// </summary>
internal sealed class WebSocketAcceptor(
    SessionHost sessions,
    AdmissionGate gate,
    SwitchboardMetrics metrics,
    IOptions<SwitchboardOptions> options,
    ILogger<WebSocketAcceptor> logger)
{
    public async Task RunAsync(HttpContext context, IConnectionBehavior behavior)
    {
        // A child of the upgrade request's span. The session host ends it once the session is open;
        // the dispose ends it on every other way out (refused, failed).
        using var connect = Spans.StartConnect();
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await AdmissionGate.RespondAsync(context, StatusCodes.Status400BadRequest, "this endpoint speaks WebSocket only", connect).ConfigureAwait(false);
            return;
        }

        using var ticket = await gate.EnterAsync(context, behavior.AcceptsDeferredAuth, connect).ConfigureAwait(false);
        if (ticket is null)
        {
            return;
        }

        var identity = ticket.Identity;
        var (socket, stream) = await AcceptAsync(context).ConfigureAwait(false);
        // Disposed here whichever way the connection ends, refused or not (disposing twice is harmless).
        using var transport = new WebSocketTransport(socket, stream, options.Value.Limits, options.Value.Compression, metrics);
        if (identity.Identity is null && !identity.Deferred)
        {
            await CloseRefusedAsync(socket, identity.CloseCode, identity.Reason!, connect).ConfigureAwait(false);
            return;
        }

        // Counted beside the session host's accepted connections. Whoever completed the upgrade
        // (this node, or the framework on HTTP/2) answered the offer in this header.
        if (context.Response.Headers.SecWebSocketExtensions.Count > 0)
        {
            metrics.ConnectionsCompressed.Add(1);
        }

        await sessions.RunAsync(transport, ticket.Session, identity.Identity, behavior, context.Request.Path, (code, reason) => CloseRefusedAsync(socket, code, reason, connect), connect).ConfigureAwait(false);
    }

    private Task<(WebSocket Socket, LingeringStream? Stream)> AcceptAsync(HttpContext context)
    {
        var settings = options.Value;
        // A browser that offered a subprotocol (to carry its token) fails unless one is selected; the
        // token entry itself is never echoed back.
        var offered = context.WebSockets.WebSocketRequestedProtocols.Contains(DefaultConnectionIdentifier.SubProtocol);
        return WebSocketUpgrade.AcceptAsync(context, new WebSocketAcceptContext
        {
            SubProtocol = offered ? DefaultConnectionIdentifier.SubProtocol : null,
            KeepAliveInterval = TimeSpan.FromSeconds(settings.Heartbeat.IntervalSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(settings.Heartbeat.TimeoutSeconds),
        }, settings.Compression);
    }

    /// <summary>
    /// Closes a socket refused after the upgrade. Nothing else holds the socket yet, so writing the
    /// close frame here keeps the one-writer rule.
    /// </summary>
    private async Task CloseRefusedAsync(WebSocket socket, int code, string reason, Activity? connect)
    {
        metrics.Closes.Add(1, new KeyValuePair<string, object?>("code", code));
        Log.Refused(logger, code, reason);
        Spans.Refused(connect, code, reason);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.Limits.CloseTimeoutSeconds));
        try
        {
            await socket.CloseAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer did not complete the handshake in time; it is refused either way.
        }
        finally
        {
            socket.Dispose();
        }
    }
}
