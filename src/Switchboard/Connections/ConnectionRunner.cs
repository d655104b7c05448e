using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Connections;

/// <summary>
/// Owns each connection's whole life: admits and identifies it, accepts it, registers it, runs its
/// send and receive loops, and in <c>finally</c> releases everything it held, however it ended.
/// </summary>
internal sealed partial class ConnectionRunner(
    ConnectionRegistry registry,
    IConnectionIdentifier identifier,
    Admission admission,
    ShutdownState shutdown,
    SwitchboardMetrics metrics,
    IOptions<SwitchboardOptions> options,
    ILogger<ConnectionRunner> logger)
{
    public async Task RunAsync(HttpContext context, IConnectionBehavior behavior)
    {
        if (await RefuseUpgradeAsync(context).ConfigureAwait(false))
        {
            return;
        }

        var ip = admission.ClientIp(context);
        if (!admission.TryCountIp(ip))
        {
            await RespondAsync(context, StatusCodes.Status429TooManyRequests, "too many connections from this address").ConfigureAwait(false);
            return;
        }

        try
        {
            var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var identity = await identifier.IdentifyAsync(context, session).ConfigureAwait(false);
            if (identity.Deferred && !behavior.AcceptsDeferredAuth)
            {
                identity = IdentityResult.Refuse(CloseCodes.Unauthorized, "a token is required on this endpoint");
            }

            var socket = await AcceptAsync(context).ConfigureAwait(false);
            if (identity.Identity is null && !identity.Deferred)
            {
                await CloseRefusedAsync(socket, identity.CloseCode, identity.Reason!).ConfigureAwait(false);
                return;
            }

            await RunAcceptedAsync(context, socket, session, identity.Identity, behavior).ConfigureAwait(false);
        }
        finally
        {
            admission.ReleaseIp(ip);
        }
    }

    private async Task RunAcceptedAsync(HttpContext context, WebSocket socket, string session, ConnectionIdentity? identity, IConnectionBehavior behavior)
    {
        var settings = options.Value;
        using var connection = new Connection(socket, session, identity, behavior.BatchText, settings.Limits, metrics, logger);
        if (identity is not null)
        {
            connection.Authenticate(identity);
            if (!admission.TryCountUser(connection))
            {
                await CloseRefusedAsync(socket, CloseCodes.TooManyConnections, $"user {connection.User} already has {settings.Limits.MaxConnectionsPerUser} connections").ConfigureAwait(false);
                return;
            }
        }

        registry.Add(connection);
        metrics.ConnectionsAccepted.Add(1);
        Log.Opened(logger, connection.Id, connection.User, context.Request.Path);
        var sendLoop = connection.RunSendLoopAsync();
        try
        {
            await behavior.OnOpenAsync(connection).ConfigureAwait(false);
            var end = await connection.RunReceiveLoopAsync(behavior.OnMessageAsync).ConfigureAwait(false);
            connection.RequestClose(CloseCodes.Normal, string.Empty);
            Log.Closed(logger, connection.Id, end.ToString());
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The peer vanished, broke the framing, sent invalid UTF-8 (the framework answers 1007),
            // missed its pongs, or its close timed out: this connection alone ends.
            Log.ReceiveFailed(logger, connection.Id, ex.Message);
            if (ex is WebSocketException { WebSocketErrorCode: not WebSocketError.ConnectionClosedPrematurely })
            {
                await LingerAfterFrameworkCloseAsync(context).ConfigureAwait(false);
            }

            connection.Abort();
        }
        catch (Exception ex)
        {
            Log.Unexpected(logger, connection.Id, ex);
            connection.RequestClose(CloseCodes.InternalError, "internal error");
        }
        finally
        {
            try
            {
                await behavior.OnClosedAsync(connection).ConfigureAwait(false);
            }
            finally
            {
                connection.RequestClose(CloseCodes.Normal, string.Empty);
                // The send loop ends by itself: it writes the close frame, or the close timeout aborts it.
                await sendLoop.ConfigureAwait(false);
                admission.Release(connection);
                registry.Remove(connection);
            }
        }
    }

    /// <summary>
    /// The framework closed the socket itself (1007 for invalid UTF-8, 1002 for broken framing) and
    /// threw. Ending the request at once would close the TCP connection with the peer's unread bytes
    /// still buffered, which makes the kernel send a reset that can destroy the close frame before
    /// the peer reads it; the peer would then see 1006 and resend the same bad frame. So the request
    /// waits, briefly, for the peer to hang up after reading the close frame.
    /// </summary>
    private async Task LingerAfterFrameworkCloseAsync(HttpContext context)
    {
        // A quarter second is ample for a peer to read a frame already on its way, and bounds what a
        // client sending garbage on purpose can hold.
        var linger = TimeSpan.FromSeconds(Math.Min(0.25, options.Value.Limits.CloseTimeoutSeconds));
        await Task.Delay(linger, context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }

    /// <summary>Answers the upgrade with an HTTP status when it must not go ahead; true when it did.</summary>
    private async Task<bool> RefuseUpgradeAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RespondAsync(context, StatusCodes.Status400BadRequest, "this endpoint speaks WebSocket only").ConfigureAwait(false);
            return true;
        }

        if (shutdown.IsDraining)
        {
            await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, "server shutting down").ConfigureAwait(false);
            return true;
        }

        if (!admission.IsOriginAllowed(context))
        {
            Log.OriginRefused(logger, context.Request.Headers.Origin.ToString());
            await RespondAsync(context, StatusCodes.Status403Forbidden, "origin not allowed").ConfigureAwait(false);
            return true;
        }

        if (!admission.TryAcceptNow())
        {
            context.Response.Headers.RetryAfter = "1";
            await RespondAsync(context, StatusCodes.Status503ServiceUnavailable, "too many new connections, retry shortly").ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private Task<WebSocket> AcceptAsync(HttpContext context)
    {
        var settings = options.Value;
        // A browser that offered a subprotocol (to carry its token) fails unless one is selected; the
        // token entry itself is never echoed back.
        var offered = context.WebSockets.WebSocketRequestedProtocols.Contains(DefaultConnectionIdentifier.SubProtocol);
        return context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = offered ? DefaultConnectionIdentifier.SubProtocol : null,
            KeepAliveInterval = TimeSpan.FromSeconds(settings.Heartbeat.IntervalSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(settings.Heartbeat.TimeoutSeconds),
        });
    }

    /// <summary>
    /// Closes a socket refused after the upgrade. Nothing else holds the socket yet, so writing the
    /// close frame here keeps the one-writer rule.
    /// </summary>
    private async Task CloseRefusedAsync(WebSocket socket, int code, string reason)
    {
        metrics.Closes.Add(1, new KeyValuePair<string, object?>("code", code));
        Log.Refused(logger, code, reason);
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

    private static Task RespondAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { code = status == StatusCodes.Status403Forbidden ? ErrorCodes.Forbidden : "refused", message = reason } });
    }
}
