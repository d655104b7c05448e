using Switchboard.Connections;
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
        if (command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Ack(command.Id.Span)));
        }

        return null;
    }
}
