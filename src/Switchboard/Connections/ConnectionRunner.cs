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

/// <summary>What an endpoint does at the three moments of a connection's life.</summary>
internal interface IConnectionBehavior
{
    /// <summary>Whether queued text frames may be batched with newlines.</summary>
    bool BatchText { get; }

    /// <summary>Called once the connection is registered, before any message is read.</summary>
    ValueTask OnOpenAsync(Connection connection);

    /// <summary>Called for every complete message, one at a time.</summary>
    ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, WebSocketMessageType type);

    /// <summary>Called once, however the connection ended; must release everything <see cref="OnOpenAsync"/> took.</summary>
    ValueTask OnClosedAsync(Connection connection);
}

/// <summary>
/// Owns each connection's whole life: identifies and accepts it, registers it, runs its send and
/// receive loops, and in <c>finally</c> releases everything it held, however it ended.
/// </summary>
internal sealed class ConnectionRunner(
    ConnectionRegistry registry,
    IConnectionIdentifier identifier,
    ShutdownState shutdown,
    SwitchboardMetrics metrics,
    IOptions<SwitchboardOptions> options,
    ILogger<ConnectionRunner> logger)
{
    public async Task RunAsync(HttpContext context, IConnectionBehavior behavior)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("This endpoint speaks WebSocket only.\n").ConfigureAwait(false);
            return;
        }

        if (shutdown.IsDraining)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var identity = await identifier.IdentifyAsync(context, session).ConfigureAwait(false);
        if (identity.User is not { } user)
        {
            context.Response.StatusCode = identity.RefusalStatus;
            await context.Response.WriteAsync(identity.RefusalReason + "\n").ConfigureAwait(false);
            return;
        }

        var settings = options.Value;
        var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(settings.Heartbeat.IntervalSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(settings.Heartbeat.TimeoutSeconds),
        }).ConfigureAwait(false);

        using var connection = new Connection(socket, session, user, behavior.BatchText, settings.Limits, metrics, logger);
        registry.Add(connection);
        metrics.ConnectionsAccepted.Add(1);
        Log.Opened(logger, connection.Id, user, context.Request.Path);
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
                registry.Remove(connection);
            }
        }
    }
}
