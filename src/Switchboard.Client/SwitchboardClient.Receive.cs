using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Switchboard.Protocol;

namespace Switchboard.Client;

public sealed partial class SwitchboardClient
{
    /// <summary>
    /// The only code that reads the connection. Splits text messages on newlines (the server
    /// batches), and dispatches each message in order. Returns the close code and reason (from a
    /// close frame, or an event stream's close message), or 1006 when the connection dropped without one.
    /// </summary>
    private async Task<(int? Code, string? Reason)> ReceiveLoopAsync(ClientSession session)
    {
        var transport = session.Transport;
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                var message = await transport.ReceiveAsync(buffer, _options.MaxReceiveBytes).ConfigureAwait(false);
                if (message.Type == TransportMessageType.Close)
                {
                    return (message.CloseCode, message.CloseReason);
                }

                try
                {
                    if (message.Type == TransportMessageType.Binary)
                    {
                        DispatchBinary(session, buffer.WrittenMemory);
                    }
                    else
                    {
                        DispatchText(session, buffer.WrittenMemory);
                    }
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
                {
                    // One unreadable message is skipped; the rest of the connection carries on.
                    Log.BadFrame(_logger, e);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException or HttpRequestException)
        {
            return transport.LocalClose is { } local ? (local.Code, local.Reason) : (AbnormalClosure, null);
        }
    }

    private void DispatchText(ClientSession session, ReadOnlyMemory<byte> frame)
    {
        var rest = frame;
        while (!rest.IsEmpty)
        {
            var newline = rest.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? ReadOnlyMemory<byte>.Empty : rest[(newline + 1)..];
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) < 0)
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            Dispatch(session, document.RootElement);
        }
    }

    private void Dispatch(ClientSession session, JsonElement message)
    {
        switch (message.GetProperty("op").GetString())
        {
            case "message":
                var publication = ParsePublication(message);
                if (_rooms.TryGetValue(publication.Room, out var room))
                {
                    room.OnLiveMessage(session, publication);
                }

                break;
            case "reply":
                if (TryGetId(message, out var id) && _pending.TryRemove(id, out var request))
                {
                    request.Reply(message);
                }

                break;
            case "error":
                var error = new SwitchboardException(
                    message.GetProperty("code").GetString() ?? ErrorCodes.Internal,
                    message.TryGetProperty("message", out var text) ? text.GetString() ?? string.Empty : string.Empty);
                if (TryGetId(message, out var failedId))
                {
                    if (_pending.TryRemove(failedId, out var failed))
                    {
                        failed.Fail(error);
                    }
                }
                else
                {
                    Log.ServerError(_logger, error.Code, error.Message);
                    Raise(ErrorReceived, new ServerError(error.Code, error.Message));
                }

                break;
            case "direct":
                var from = message.GetProperty("from").GetString();
                var data = JsonMarshal.GetRawUtf8Value(message.GetProperty("data")).ToArray();
                Raise(DirectReceived, new DirectMessage(from, new Payload(data, binary: false), _options.JsonOptions));
                break;
            case "joined" or "left":
                var roomName = message.GetProperty("room").GetString()!;
                if (_rooms.TryGetValue(roomName, out var changed))
                {
                    changed.OnPresence(new PresenceChange(roomName, message.GetProperty("user").GetString()!, message.GetProperty("op").ValueEquals("joined"u8)));
                }

                break;
            case "removed":
                var removedRoom = message.GetProperty("room").GetString()!;
                if (_rooms.TryGetValue(removedRoom, out var removed) && message.TryGetProperty("rejoin", out var rejoin) && rejoin.ValueKind == JsonValueKind.True)
                {
                    // The server lost part of the room's stream (stream_lost): the room is kept and joined
                    // again at once with its position; the reply's recovered:false raises Reset.
                    removed.OnStreamLost();
                    RejoinLost(removed, session);
                }
                else if (removed is not null)
                {
                    removed.OnRemoved(new RoomRemoved(
                        removedRoom,
                        message.GetProperty("code").GetString() ?? ErrorCodes.Forbidden,
                        message.TryGetProperty("message", out var why) ? why.GetString() ?? string.Empty : string.Empty));
                }

                break;
            case "welcome":
                session.Welcome.TrySetResult((message.GetProperty("user").GetString()!, message.GetProperty("session").GetString()!));
                break;
            default:
                // Newer servers may send ops this client does not know; ignoring them keeps it working.
                break;
        }
    }

    private void DispatchBinary(ClientSession session, ReadOnlyMemory<byte> frame)
    {
        if (!BinaryFrames.TryDecodeMessage(frame, out var room, out var from, out var offset, out var payload))
        {
            Log.BadFrame(_logger, new FormatException("binary frame without a valid message header"));
            return;
        }

        if (_rooms.TryGetValue(room, out var joined))
        {
            // The receive buffer is reused for the next frame: the message keeps its own copy.
            joined.OnLiveMessage(session, new RoomMessage(room, from, offset, new Payload(payload.ToArray(), binary: true), _options.JsonOptions));
        }
    }

    /// <summary>Reads a <c>message</c> object, live or from a join or history reply (where binary payloads are base64 under <c>binary</c>).</summary>
    internal RoomMessage ParsePublication(JsonElement message)
    {
        var room = message.GetProperty("room").GetString()!;
        var from = message.TryGetProperty("from", out var sender) ? sender.GetString() : null;
        var offset = message.GetProperty("offset").GetUInt64();
        var payload = message.TryGetProperty("binary", out var binary)
            ? new Payload(binary.GetBytesFromBase64(), binary: true)
            : new Payload(JsonMarshal.GetRawUtf8Value(message.GetProperty("data")).ToArray(), binary: false);
        return new RoomMessage(room, from, offset, payload, _options.JsonOptions);
    }

    private static bool TryGetId(JsonElement message, out long id)
    {
        id = 0;
        return message.TryGetProperty("id", out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out id);
    }

    /// <summary>Joins <paramref name="room"/> again on <paramref name="session"/> after the server lost its stream.</summary>
    private void RejoinLost(SwitchboardRoom room, ClientSession session)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room.Name, out var current) || !ReferenceEquals(current, room) || _session != session || _closed)
            {
                return;
            }

            room.ForgetJoin();
            if (session.Ready)
            {
                ObserveInternalWrite(WriteJoinLocked(room, session));
            }

            // Otherwise the session's start still runs: it joins every room not joined on it, this one included.
        }
    }
}
