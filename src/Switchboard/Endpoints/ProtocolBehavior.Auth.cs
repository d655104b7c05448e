using Switchboard.Brokers;
using Switchboard.Connections;
using Microsoft.Extensions.Logging;
using Switchboard.Identity;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

internal sealed partial class ProtocolBehavior
{
    /// <summary>
    /// The first command of a connection that arrived without a token: it must be a valid
    /// <c>auth</c>, or the connection is closed with 4501 (4003 for an expired token).
    /// </summary>
    private async ValueTask AuthenticateAsync(Connection connection, ClientCommand? command)
    {
        if (command is not { Op: CommandOp.Auth, Token: { } token })
        {
            connection.RequestClose(CloseCodes.Unauthorized, "authenticate first: send {\"op\":\"auth\",\"token\":...}");
            return;
        }

        var result = await tokens.ValidateAsync(token).ConfigureAwait(false);
        if (result.Identity is not { } identity)
        {
            connection.RequestClose(result.CloseCode, result.Reason!);
            return;
        }

        // Counted before the identity is set: a connection refused here never acts as the user.
        if (!admission.TryCountUser(connection, identity))
        {
            connection.RequestClose(CloseCodes.TooManyConnections, $"user {identity.User} has too many connections");
            return;
        }

        connection.Authenticate(identity);
        await WelcomeAsync(connection).ConfigureAwait(false);
        if (command.Value.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Ack(command.Value.Id.Span)));
        }
    }

    /// <summary>
    /// Replaces the token of a live connection: same user, new expiry, new granted rooms. A refused
    /// token changes nothing; the connection still closes at its current token's expiry.
    /// </summary>
    private async ValueTask<ProtocolError?> RefreshAsync(Connection connection, ClientCommand command)
    {
        if (connection.Identity?.Source == IdentitySource.App)
        {
            // The app's sign-in (its cookie, its bearer token) is renewed by the app, on its own
            // requests; a Switchboard token cannot stand in for it. A client reconnects to pick up a renewal.
            return new ProtocolError(ErrorCodes.BadRequest, "this connection's identity comes from the app's sign-in, which refresh cannot renew: reconnect instead");
        }

        var result = await tokens.ValidateAsync(command.Token!).ConfigureAwait(false);
        if (result.Identity is not { } identity)
        {
            return new ProtocolError(ErrorCodes.Unauthorized, result.Reason!);
        }

        if (identity.User != connection.User)
        {
            return new ProtocolError(ErrorCodes.Forbidden, "the new token is for another user");
        }

        connection.Authenticate(identity);
        await LeaveRevokedRoomsAsync(connection, identity).ConfigureAwait(false);
        if (command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Ack(command.Id.Span)));
        }

        return null;
    }

    /// <summary>
    /// A refreshed identity may have lost rooms (a grant withdrawn from the token's rooms claim):
    /// membership is a right checked at join, so every joined room is checked again, and the
    /// connection leaves those it may no longer join. It is told with a <c>removed</c> message per room,
    /// queued before the refresh reply; the other members see the usual <c>left</c>.
    /// </summary>
    private async ValueTask LeaveRevokedRoomsAsync(Connection connection, ConnectionIdentity identity)
    {
        List<string>? revoked = null;
        foreach (var (room, subscription) in connection.Rooms)
        {
            // A membership the server already ended (told removed) was told once; it is not told again.
            if (subscription.IsCurrent && !policy.CanJoin(identity, room))
            {
                (revoked ??= []).Add(room);
            }
        }

        foreach (var room in revoked ?? [])
        {
            try
            {
                await hub.LeaveAsync(connection, room, connection.Aborted).ConfigureAwait(false);
            }
            catch (BrokerUnavailableException ex)
            {
                // The membership is already gone on this node (no more deliveries); only the broker's
                // view (presence, interest) lags, and it expires on its own.
                Log.CommandUnavailable(logger, connection.Id, "leave of a revoked room", ex);
            }

            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Removed(room, ErrorCodes.Forbidden, $"the refreshed token no longer allows {room}")));
        }
    }
}
