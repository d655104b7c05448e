using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

/// <summary>
/// The <c>/ws</c> endpoint: the full protocol. Commands of one connection run one at a time, in the
/// order they arrived, on that connection's receive loop.
/// </summary>
internal sealed partial class ProtocolBehavior(
    SwitchboardHub hub,
    RoomPolicy policy,
    ITokenValidator tokens,
    Admission admission,
    SwitchboardMetrics metrics,
    TimeProvider time,
    IOptions<SwitchboardOptions> options,
    ILogger<ProtocolBehavior> logger) : IConnectionBehavior
{
    /// <summary>
    /// The one message an <c>unavailable</c> error carries, on the socket and in the HTTP API: a
    /// broker's own message may name hosts, ports or its internal state, which is for the log only.
    /// </summary>
    internal const string UnavailableMessage = "the server cannot reach its message broker; nothing was done, retry after a short backoff";

    public bool BatchText => true;

    public bool AcceptsDeferredAuth => true;

    public async ValueTask OnOpenAsync(Connection connection)
    {
        if (connection.Identity is null)
        {
            var timeout = TimeSpan.FromSeconds(options.Value.Auth.FirstMessageTimeoutSeconds);
            connection.SetDeadline(time.GetUtcNow() + timeout, CloseCodes.Unauthorized, "authentication timeout: send {\"op\":\"auth\",\"token\":...} first");
            return;
        }

        await WelcomeAsync(connection).ConfigureAwait(false);
    }

    public ValueTask OnClosedAsync(Connection connection) =>
        connection.Identity is null ? ValueTask.CompletedTask : hub.RemoveConnectionAsync(connection);

    public async ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, bool isBinary)
    {
        if (isBinary)
        {
            metrics.MessagesIn.Add(1);
            if (connection.Identity is null)
            {
                connection.RequestClose(CloseCodes.Unauthorized, "authenticate first");
                return;
            }

            if (TakeOrRefuse(connection, ref connection.CommandBucket, "too many commands", default)
                && TakeOrRefuse(connection, ref connection.PublishBucket, "too many publishes", default)
                && TakeUserPublish(connection, default))
            {
                connection.RateLimitStrikes = 0;
                await PublishBinaryAsync(connection, message).ConfigureAwait(false);
            }

            return;
        }

        // A client may batch commands like the server batches messages, one after another. Each is
        // paid for before it is split off and parsed: what a frame costs is bounded by the bucket,
        // not by how many values fit in MaxMessageBytes.
        var rest = message;
        while (JsonText.SkipWhitespace(ref rest))
        {
            if (connection.IsClosing)
            {
                // A closing connection acts no more, even on the rest of a frame it already sent.
                return;
            }

            metrics.MessagesIn.Add(1);
            if (!connection.CommandBucket.TryTake())
            {
                RefuseRestOfFrame(connection, JsonText.TakeValue(ref rest), rest);
                return;
            }

            await HandleCommandAsync(connection, JsonText.TakeValue(ref rest)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The command bucket ran dry inside a frame: the command that found it empty is answered
    /// <c>rate_limited</c> (parsed only for its id), and the rest of the frame is dropped unparsed,
    /// each of its lines counting as one more refused command towards <c>Limits:RateLimitStrikes</c>.
    /// </summary>
    private void RefuseRestOfFrame(Connection connection, ReadOnlyMemory<byte> refused, ReadOnlyMemory<byte> rest)
    {
        // Parsed or not, the command carries the id if one was read: the refusal names it.
        _ = CommandParser.TryParse(refused, out var command, out _);
        var dropped = JsonText.CountLines(rest.Span);
        metrics.MessagesIn.Add(dropped);
        Refuse(connection, command.Id, "too many commands", 1 + dropped);
    }

    private async ValueTask HandleCommandAsync(Connection connection, ReadOnlyMemory<byte> json)
    {
        // The command bucket is already charged; the parse tells which further bucket applies.
        var parsed = CommandParser.TryParse(json, out var command, out var error);
        if (parsed && !TakeCostBuckets(connection, command))
        {
            return;
        }

        connection.RateLimitStrikes = 0;
        if (connection.Identity is not { } identity)
        {
            await AuthenticateAsync(connection, parsed ? command : null).ConfigureAwait(false);
            return;
        }

        if (!parsed)
        {
            ReplyError(connection, command.Id, error);
            return;
        }

        ProtocolError? failure;
        try
        {
            failure = command.Op switch
            {
                CommandOp.Join => await JoinAsync(connection, identity, command).ConfigureAwait(false),
                CommandOp.Leave => await LeaveAsync(connection, command).ConfigureAwait(false),
                CommandOp.Publish => await PublishAsync(connection, identity, command).ConfigureAwait(false),
                CommandOp.Send => await SendAsync(connection, command).ConfigureAwait(false),
                CommandOp.Presence => await PresenceAsync(connection, identity, command).ConfigureAwait(false),
                CommandOp.History => await HistoryAsync(connection, identity, command).ConfigureAwait(false),
                CommandOp.Refresh => await RefreshAsync(connection, command).ConfigureAwait(false),
                CommandOp.Auth => new ProtocolError(ErrorCodes.BadRequest, identity.Source == IdentitySource.App
                    ? "already authenticated by the app's own sign-in: reconnect to change identity"
                    : "already authenticated: use refresh to replace the token"),
                _ => new ProtocolError(ErrorCodes.UnknownOp, "unknown op"),
            };
        }
        catch (BrokerUnavailableException ex)
        {
            // Never a silent drop: the client learns that this command did not happen, but not why:
            // the detail may name internal addresses, so it goes to the log only.
            Log.CommandUnavailable(logger, connection.Id, command.Op.ToString(), ex);
            failure = new ProtocolError(ErrorCodes.Unavailable, UnavailableMessage);
        }

        if (failure is { } failed)
        {
            ReplyError(connection, command.Id, failed);
        }
    }

    private async ValueTask<ProtocolError?> JoinAsync(Connection connection, ConnectionIdentity identity, ClientCommand command)
    {
        if (!policy.CanJoin(identity, command.Room!))
        {
            return Forbidden("join", command.Room!);
        }

        var recover = policy.CanReadHistory(identity, command.Room!);
        return await hub.JoinAsync(connection, command.Room!, command.Since, recover, command.Id, connection.Aborted).ConfigureAwait(false);
    }

    private async ValueTask<ProtocolError?> LeaveAsync(Connection connection, ClientCommand command)
    {
        var error = await hub.LeaveAsync(connection, command.Room!, connection.Aborted).ConfigureAwait(false);
        if (error is null && command.HasId)
        {
            connection.TryEnqueue(OutboundFrame.Text(ServerMessages.LeaveReply(command.Id.Span, command.Room!)));
        }

        return error;
    }

    private async ValueTask<ProtocolError?> PublishAsync(Connection connection, ConnectionIdentity identity, ClientCommand command)
    {
        if (!connection.IsMemberOf(command.Room!))
        {
            return new ProtocolError(ErrorCodes.NotJoined, $"join {command.Room} before publishing to it");
        }

        if (!policy.CanPublish(identity, command.Room!))
        {
            return Forbidden("publish to", command.Room!);
        }

        // The receive buffer is reused after this command; the publication keeps its own copy for history.
        var position = await hub.PublishAsync(command.Room!, connection.User, command.Data.ToArray(), isBinary: false, command.IdempotencyKey, connection.Aborted).ConfigureAwait(false);
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

    private async ValueTask<ProtocolError?> PresenceAsync(Connection connection, ConnectionIdentity identity, ClientCommand command)
    {
        if (!command.HasId)
        {
            return new ProtocolError(ErrorCodes.InvalidField, "id is required: presence answers with a reply");
        }

        if (!policy.CanSeePresence(identity, command.Room!))
        {
            return Forbidden("see the presence of", command.Room!);
        }

        var users = await hub.PresenceAsync(command.Room!, connection.Aborted).ConfigureAwait(false);
        var reply = ServerMessages.PresenceReply(command.Id.Span, command.Room!, users);
        connection.ReplyBytes.Charge(reply.Length);
        connection.TryEnqueue(OutboundFrame.Text(reply));
        return null;
    }

    private async ValueTask<ProtocolError?> HistoryAsync(Connection connection, ConnectionIdentity identity, ClientCommand command)
    {
        if (!command.HasId)
        {
            return new ProtocolError(ErrorCodes.InvalidField, "id is required: history answers with a reply");
        }

        if (!policy.CanReadHistory(identity, command.Room!))
        {
            return Forbidden("read the history of", command.Room!);
        }

        var read = await hub.HistoryAsync(command.Room!, command.Since, command.Limit, connection.Aborted).ConfigureAwait(false);
        var publications = read.Publications.Select(p => p.Json).ToArray();
        var reply = ServerMessages.StreamReply(command.Id.Span, read.Top, read.Recovered, publications);
        connection.ReplyBytes.Charge(reply.Length);
        connection.TryEnqueue(OutboundFrame.Text(reply));
        return null;
    }

    private async ValueTask PublishBinaryAsync(Connection connection, ReadOnlyMemory<byte> frame)
    {
        if (!BinaryFrames.TryDecodePublish(frame, out var room, out var payload))
        {
            ReplyError(connection, default, new ProtocolError(ErrorCodes.BadBinaryHeader, "a binary frame must start with 0x01, a room length byte and the room name"));
            return;
        }

        if (!connection.IsMemberOf(room))
        {
            ReplyError(connection, default, new ProtocolError(ErrorCodes.NotJoined, $"join {room} before publishing to it"));
            return;
        }

        if (!policy.CanPublish(connection.Identity!, room))
        {
            ReplyError(connection, default, Forbidden("publish to", room));
            return;
        }

        try
        {
            await hub.PublishAsync(room, connection.User, payload.ToArray(), isBinary: true, connection.Aborted).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException ex)
        {
            Log.CommandUnavailable(logger, connection.Id, "binary publish", ex);
            ReplyError(connection, default, new ProtocolError(ErrorCodes.Unavailable, UnavailableMessage));
        }
    }

    private async ValueTask WelcomeAsync(Connection connection)
    {
        await hub.AddUserAsync(connection).ConfigureAwait(false);
        var ping = (int)Math.Ceiling(options.Value.Heartbeat.IntervalSeconds);
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Welcome(connection.Session, connection.User, ping)));
    }

    /// <summary>
    /// The buckets a command pays into besides the command bucket, by what it costs the node: publishes
    /// (per connection and per user), joins and leaves (each may fan a presence event out to a whole
    /// room), and reads (history and presence replies can be large: a rate, and a budget of reply bytes).
    /// </summary>
    private bool TakeCostBuckets(Connection connection, in ClientCommand command)
    {
        switch (command.Op)
        {
            case CommandOp.Publish or CommandOp.Send:
                return TakeOrRefuse(connection, ref connection.PublishBucket, "too many publishes", command.Id)
                    && TakeUserPublish(connection, command.Id);
            case CommandOp.Join or CommandOp.Leave:
                return TakeOrRefuse(connection, ref connection.JoinBucket, "too many joins and leaves", command.Id);
            case CommandOp.History or CommandOp.Presence:
                if (!TakeOrRefuse(connection, ref connection.ReadBucket, "too many history and presence requests", command.Id))
                {
                    return false;
                }

                if (!connection.ReplyBytes.HasCredit())
                {
                    Refuse(connection, command.Id, "too many bytes of history and presence replies", 1);
                    return false;
                }

                return true;
            default:
                return true;
        }
    }

    private bool TakeUserPublish(Connection connection, ReadOnlyMemory<byte> id)
    {
        if (connection.UserPublishBucket?.TryTake() ?? true)
        {
            return true;
        }

        Refuse(connection, id, "too many publishes by this user", 1);
        return false;
    }

    /// <summary>
    /// Takes a token from <paramref name="bucket"/>; when it is empty the command is refused (see
    /// <see cref="Refuse"/>) and false is returned.
    /// </summary>
    private bool TakeOrRefuse(Connection connection, ref TokenBucket bucket, string what, ReadOnlyMemory<byte> id)
    {
        if (bucket.TryTake())
        {
            return true;
        }

        Refuse(connection, id, what, 1);
        return false;
    }

    /// <summary>
    /// Answers a refused command with <c>rate_limited</c> (with its id). A client that goes on for
    /// <c>Limits:RateLimitStrikes</c> refused commands in a row is not backing off and is closed with 4503.
    /// </summary>
    private void Refuse(Connection connection, ReadOnlyMemory<byte> id, string what, int strikes)
    {
        connection.RateLimitStrikes += strikes;
        if (connection.RateLimitStrikes >= options.Value.Limits.RateLimitStrikes)
        {
            connection.RequestClose(CloseCodes.RateLimited, "rate limit exceeded repeatedly");
            return;
        }

        ReplyError(connection, id, new ProtocolError(ErrorCodes.RateLimited, what + ": slow down"));
    }

    private static ProtocolError Forbidden(string action, string room) =>
        new(ErrorCodes.Forbidden, $"not allowed to {action} {room}");

    private void ReplyError(Connection connection, ReadOnlyMemory<byte> id, ProtocolError error)
    {
        metrics.Errors.Add(1, new KeyValuePair<string, object?>("code", error.Code));
        connection.TryEnqueue(OutboundFrame.Text(ServerMessages.Error(id.Span, error.Code, error.Message)));
    }
}
