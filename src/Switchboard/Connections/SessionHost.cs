using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Connections;

/// <summary>
/// Owns each session's whole life, whatever its transport: builds it, counts it, registers it, runs
/// its send and receive loops, and in <c>finally</c> releases everything it held, however it ended.
/// </summary>
internal sealed class SessionHost(
    ConnectionRegistry registry,
    Admission admission,
    SwitchboardMetrics metrics,
    IOptions<SwitchboardOptions> options,
    ILogger<SessionHost> logger)
{
    /// <summary>
    /// Runs a session on an accepted <paramref name="transport"/> until it ends. The per-user limit is
    /// checked here; <paramref name="refuse"/> closes a transport refused before any session exists.
    /// <paramref name="connect"/>, the transport's connect span, is ended here once the session is open.
    /// </summary>
    /// <remarks>
    /// The session's loops run with no current activity: a connection lives for hours, and a span that
    /// long tells nothing. Each command the client sends starts its own trace (its spans carry the
    /// session id), and nothing the session does later is a child of the connect span or of the
    /// upgrade request.
    /// </remarks>
    public async Task RunAsync(ITransport transport, string sessionId, ConnectionIdentity? identity, IConnectionBehavior behavior, string path, Func<int, string, Task> refuse, Activity? connect = null)
    {
        var settings = options.Value;
        using var connection = new Connection(transport, sessionId, identity, behavior.BatchText, settings.Limits, metrics, logger);
        if (identity is not null)
        {
            if (!admission.TryCountUser(connection, identity))
            {
                await refuse(CloseCodes.TooManyConnections, $"user {identity.User} already has {settings.Limits.MaxConnectionsPerUser} connections").ConfigureAwait(false);
                return;
            }

            connection.Authenticate(identity);
        }

        registry.Add(connection);
        metrics.ConnectionsAccepted.Add(1);
        Log.Opened(logger, connection.Id, connection.User, path);
        var sendLoop = Spans.Detached(connection.RunSendLoopAsync);
        try
        {
            await behavior.OnOpenAsync(connection).ConfigureAwait(false);
            // The welcome is queued (or, without a token, the auth deadline set): the session is open.
            Spans.Established(connect, connection.Session, connection.Identity?.User);
            connect?.Stop();
            // For the receive loop, which runs in this method: an assignment in a callee would not last.
            if (Activity.Current is not null)
            {
                Activity.Current = null;
            }

            var end = await transport.ReceiveAsync(connection, behavior.OnMessageAsync).ConfigureAwait(false);
            connection.RequestClose(CloseCodes.Normal, string.Empty);
            Log.Closed(logger, connection.Id, end.ToString());
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The peer vanished, broke the framing, sent invalid UTF-8 (the framework answers 1007),
            // missed its pongs, or its close timed out: this connection alone ends.
            Log.ReceiveFailed(logger, connection.Id, ex.Message);
            Spans.Failed(connect, ex);
            connection.Abort();
        }
        catch (Exception ex)
        {
            Log.Unexpected(logger, connection.Id, ex);
            Spans.Failed(connect, ex);
            connection.RequestClose(CloseCodes.InternalError, "internal error");
        }
        finally
        {
            // Nested so that no failure in one step can skip the next: the registry entry and the
            // per-user count are released however the behaviour's cleanup or the send loop ended.
            try
            {
                await behavior.OnClosedAsync(connection).ConfigureAwait(false);
            }
            finally
            {
                try
                {
                    connection.RequestClose(CloseCodes.Normal, string.Empty);
                    // The send loop ends by itself (it never throws): it writes the close, or the
                    // close timeout aborts it.
                    await sendLoop.ConfigureAwait(false);
                }
                finally
                {
                    admission.Release(connection);
                    registry.Remove(connection);
                }
            }
        }
    }
}
