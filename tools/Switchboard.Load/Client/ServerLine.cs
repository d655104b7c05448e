using System.Text.Json;

namespace Switchboard.Load.Client;

/// <summary>The kind of one server message (one line of a text frame).</summary>
internal enum ServerLineKind
{
    Other,
    Welcome,
    Reply,
    Error,
    Message,
    Malformed,
}

/// <summary>
/// The few fields the load tool needs from one server message. Parsed with a
/// <see cref="Utf8JsonReader"/> on the stack that stops as soon as a room message's room and offset
/// (and, when wanted, the send timestamp at the start of its data) are known, so a delivery costs
/// no allocation and never scans the payload.
/// </summary>
internal ref struct ServerLine
{
    public ServerLineKind Kind;
    public bool InRoom;
    public bool HasOffset;
    public ulong Offset;
    public long Id;
    public bool HasTimestamp;
    public long Timestamp;
    public string? ErrorCode;

    /// <summary>The op of a message of kind <see cref="ServerLineKind.Other"/> (known ops are not allocated).</summary>
    public string? OtherOp;

    public static ServerLine Parse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> room, bool wantTimestamp)
    {
        var line = new ServerLine { Id = -1 };
        try
        {
            line.Read(json, room, wantTimestamp);
        }
        catch (JsonException)
        {
            line.Kind = ServerLineKind.Malformed;
        }

        return line;
    }

    private void Read(ReadOnlySpan<byte> json, ReadOnlySpan<byte> room, bool wantTimestamp)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            Kind = ServerLineKind.Malformed;
            return;
        }

        var roomSeen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("op"u8))
            {
                reader.Read();
                Kind = Classify(ref reader);
                if (Kind == ServerLineKind.Other)
                {
                    OtherOp = NameOtherOp(ref reader);
                }
            }
            else if (reader.ValueTextEquals("offset"u8))
            {
                reader.Read();
                HasOffset = reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out Offset);
            }
            else if (reader.ValueTextEquals("room"u8))
            {
                reader.Read();
                roomSeen = true;
                InRoom = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(room);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out Id))
                {
                    Id = -1;
                }
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                ErrorCode = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("data"u8) && wantTimestamp)
            {
                reader.Read();
                var depth = reader.CurrentDepth;
                ReadTimestamp(ref reader);
                if (Kind == ServerLineKind.Message && HasOffset && roomSeen)
                {
                    // Everything needed is known: leave the rest of the payload unread.
                    return;
                }

                SkipToEndOfObject(ref reader, depth);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }

            if (Kind == ServerLineKind.Message && HasOffset && roomSeen && (HasTimestamp || !wantTimestamp))
            {
                return;
            }
        }
    }

    private static ServerLineKind Classify(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return ServerLineKind.Malformed;
        }

        if (reader.ValueTextEquals("message"u8))
        {
            return ServerLineKind.Message;
        }

        if (reader.ValueTextEquals("reply"u8))
        {
            return ServerLineKind.Reply;
        }

        if (reader.ValueTextEquals("error"u8))
        {
            return ServerLineKind.Error;
        }

        return reader.ValueTextEquals("welcome"u8) ? ServerLineKind.Welcome : ServerLineKind.Other;
    }

    private static string NameOtherOp(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("joined"u8) ? "joined"
        : reader.ValueTextEquals("left"u8) ? "left"
        : reader.ValueTextEquals("direct"u8) ? "direct"
        : reader.GetString() ?? "";

    /// <summary>Reads <c>t</c> when the data value is an object that starts with it.</summary>
    private void ReadTimestamp(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.StartObject
            && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("t"u8)
            && reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out Timestamp))
        {
            HasTimestamp = true;
        }
    }

    /// <summary>Moves past the end of the value that started at <paramref name="depth"/>, from anywhere inside it.</summary>
    private static void SkipToEndOfObject(ref Utf8JsonReader reader, int depth)
    {
        if (reader.CurrentDepth == depth && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }

        while (reader.Read() && !(reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray))
        {
        }
    }
}
