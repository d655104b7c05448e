using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

/// <summary>
/// The <c>/ws</c> endpoint: the full protocol. Commands of one connection run one at a time, in the
/// order they arrived, on that connection's receive loop.
/// </summary>
internal sealed class ProtocolBehavior(SwitchboardHub hub, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options) : IConnectionBehavior
{
    public bool BatchText => true;

    public async ValueTask OnOpenAsync(Connection connection)
    {
        await hub.AddUserAsync(connection).ConfigureAwait(false);
        var ping = (int)Math.Ceiling(options.Value.Heartbeat.IntervalSeconds);
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Welcome(connection.Session, connection.User, ping)));
    }

    public ValueTask OnClosedAsync(Connection connection) => hub.RemoveConnectionAsync(connection);

    public async ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        if (type == WebSocketMessageType.Binary)
        {
            metrics.MessagesIn.Add(1);
            await PublishBinaryAsync(connection, message).ConfigureAwait(false);
            return;
        }

        // A client may batch commands like the server batches messages: one JSON object per line.
        var rest = message;
        while (!rest.IsEmpty)
        {
            var newline = rest.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? ReadOnlyMemory<byte>.Empty : rest[(newline + 1)..];
            if (line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            metrics.MessagesIn.Add(1);
            await HandleCommandAsync(connection, line).ConfigureAwait(false);
        }
    }

    private async ValueTask HandleCommandAsync(Connection connection, ReadOnlyMemory<byte> json)
    {
        if (!CommandParser.TryParse(json, out var command, out var error))
        {
            ReplyError(connection, command.Id, error);
            return;
        }

        ProtocolError? failure;
        try
        {
            failure = command.Op switch
            {
                CommandOp.Join => await hub.JoinAsync(connection, command.Room!, command.Since, command.Id, connection.Aborted).ConfigureAwait(false),
                CommandOp.Leave => await LeaveAsync(connection, command).ConfigureAwait(false),
                CommandOp.Publish => await PublishAsync(connection, command).ConfigureAwait(false),
                CommandOp.Send => await SendAsync(connection, command).ConfigureAwait(false),
                CommandOp.Presence => await PresenceAsync(connection, command).ConfigureAwait(false),
                CommandOp.History => await HistoryAsync(connection, command).ConfigureAwait(false),
                _ => new ProtocolError(ErrorCodes.UnknownOp, "unknown op"),
            };
        }
        catch (BrokerUnavailableException ex)
        {
            // Never a silent drop: the client learns that this command did not happen.
            failure = new ProtocolError(ErrorCodes.Unavailable, ex.Message);
        }

        if (failure is { } failed)
        {
            ReplyError(connection, command.Id, failed);
        }
    }

    private async ValueTask<ProtocolError?> LeaveAsync(Connection connection, ClientCommand command)
    {
        var error = await hub.LeaveAsync(connection, command.Room!, connection.Aborted).ConfigureAwait(false);
        if (error is null && command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Ack(command.Id.Span)));
        }

        return error;
    }

    private async ValueTask<ProtocolError?> PublishAsync(Connection connection, ClientCommand command)
    {
        if (!connection.Rooms.ContainsKey(command.Room!))
        {
            return new ProtocolError(ErrorCodes.NotJoined, $"join {command.Room} before publishing to it");
        }

        // The receive buffer is reused after this command; the publication keeps its own copy for history.
        var position = await hub.PublishAsync(command.Room!, connection.User, command.Data.ToArray(), isBinary: false, connection.Aborted).ConfigureAwait(false);
        if (command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.PublishReply(command.Id.Span, position)));
        }

        return null;
    }

    private async ValueTask<ProtocolError?> SendAsync(Connection connection, ClientCommand command)
    {
        await hub.SendAsync(command.User!, connection.User, command.Data.Span, connection.Aborted).ConfigureAwait(false);
        if (command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Ack(command.Id.Span)));
        }

        return null;
    }

    private async ValueTask<ProtocolError?> PresenceAsync(Connection connection, ClientCommand command)
    {
        if (!command.HasId)
        {
            return new ProtocolError(ErrorCodes.InvalidField, "id is required: presence answers with a reply");
        }

        var users = await hub.PresenceAsync(command.Room!, connection.Aborted).ConfigureAwait(false);
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.PresenceReply(command.Id.Span, command.Room!, users)));
        return null;
    }

    private async ValueTask<ProtocolError?> HistoryAsync(Connection connection, ClientCommand command)
    {
        if (!command.HasId)
        {
            return new ProtocolError(ErrorCodes.InvalidField, "id is required: history answers with a reply");
        }

        var read = await hub.HistoryAsync(command.Room!, command.Since, command.Limit, connection.Aborted).ConfigureAwait(false);
        var publications = read.Publications.Select(p => p.Json).ToArray();
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.StreamReply(command.Id.Span, read.Top, read.Recovered, publications)));
        return null;
    }

    private async ValueTask PublishBinaryAsync(Connection connection, ReadOnlyMemory<byte> frame)
    {
        if (!BinaryFrames.TryDecodePublish(frame, out var room, out var payload))
        {
            ReplyError(connection, default, new ProtocolError(ErrorCodes.BadBinaryHeader, "a binary frame must start with 0x01, a room length byte and the room name"));
            return;
        }

        if (!connection.Rooms.ContainsKey(room))
        {
            ReplyError(connection, default, new ProtocolError(ErrorCodes.NotJoined, $"join {room} before publishing to it"));
            return;
        }

        await hub.PublishAsync(room, connection.User, payload.ToArray(), isBinary: true, connection.Aborted).ConfigureAwait(false);
    }

    private void ReplyError(Connection connection, ReadOnlyMemory<byte> id, ProtocolError error)
    {
        metrics.Errors.Add(1, new KeyValuePair<string, object?>("code", error.Code));
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Error(id.Span, error.Code, error.Message)));
    }
}
