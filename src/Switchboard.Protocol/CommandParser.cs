using System.Text.Json;

namespace Switchboard.Protocol;

/// <summary>
/// Parses one client command from the UTF-8 JSON of a text frame. Field order is free; unknown
/// fields are ignored so newer clients can talk to older servers.
/// </summary>
public static class CommandParser
{
    /// <summary>The longest <c>id</c> accepted, in bytes of raw JSON.</summary>
    public const int MaxIdBytes = 128;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Parses <paramref name="json"/>. On failure returns false with <paramref name="error"/> set;
    /// <paramref name="command"/> then still carries the <c>id</c> if one was read, so the error
    /// can be correlated.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<byte> json, out ClientCommand command, out ProtocolError error)
    {
        var fields = new RawFields();
        var start = json.Span.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || json.Span[start] != (byte)'{')
        {
            // Answered without running the reader: a reader's error is an exception, and a hostile
            // frame of bare values would otherwise cost one per value.
            command = new ClientCommand { Op = default };
            error = new ProtocolError(ErrorCodes.BadRequest, "malformed JSON: a command must be a JSON object");
            return false;
        }

        try
        {
            ReadFields(json, ref fields);
        }
        catch (JsonException ex)
        {
            command = new ClientCommand { Op = default, Id = fields.Id };
            error = new ProtocolError(ErrorCodes.BadRequest, $"malformed JSON: {TrimMessage(ex.Message)}");
            return false;
        }

        if (fields.Error is { } fieldError)
        {
            command = new ClientCommand { Op = default, Id = fields.Id };
            error = fieldError;
            return false;
        }

        return Build(ref fields, out command, out error);
    }

    private static void ReadFields(ReadOnlyMemory<byte> json, ref RawFields fields)
    {
        var reader = new Utf8JsonReader(json.Span, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a command must be a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("op"u8))
            {
                fields.Op = ReadString(ref reader, "op", ref fields);
            }
            else if (name.SequenceEqual("id"u8))
            {
                ReadId(ref reader, json, ref fields);
            }
            else if (name.SequenceEqual("room"u8))
            {
                fields.Room = ReadString(ref reader, "room", ref fields);
            }
            else if (name.SequenceEqual("token"u8))
            {
                fields.Token = ReadString(ref reader, "token", ref fields);
            }
            else if (name.SequenceEqual("user"u8))
            {
                fields.User = ReadString(ref reader, "user", ref fields);
            }
            else if (name.SequenceEqual("data"u8))
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                fields.Data = json[start..(int)reader.BytesConsumed];
                fields.HasData = true;
            }
            else if (name.SequenceEqual("idempotencyKey"u8))
            {
                fields.IdempotencyKey = ReadString(ref reader, "idempotencyKey", ref fields);
            }
            else if (name.SequenceEqual("since"u8))
            {
                ReadSince(ref reader, ref fields);
            }
            else if (name.SequenceEqual("limit"u8))
            {
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var limit) && limit > 0)
                {
                    fields.Limit = limit;
                }
                else
                {
                    fields.Fail(ErrorCodes.InvalidField, "limit must be a positive integer");
                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.BytesConsumed != json.Length && !IsTrailingWhitespace(json.Span[(int)reader.BytesConsumed..]))
        {
            throw new JsonException("unexpected content after the command object");
        }
    }

    private static bool IsTrailingWhitespace(ReadOnlySpan<byte> rest) => rest.Trim(" \t\r\n"u8).IsEmpty;

    private static string? ReadString(ref Utf8JsonReader reader, string field, ref RawFields fields)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return TryGetString(ref reader, field, ref fields);
        }

        fields.Fail(ErrorCodes.InvalidField, $"{field} must be a string");
        reader.Skip();
        return null;
    }

    private static string? TryGetString(ref Utf8JsonReader reader, string field, ref RawFields fields)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // Valid JSON can escape a lone surrogate ("\ud800"), which no .NET string can hold.
            fields.Fail(ErrorCodes.InvalidField, $"{field} holds an invalid escape (a lone surrogate)");
            return null;
        }
    }

    private static void ReadId(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, ref RawFields fields)
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number))
        {
            fields.Fail(ErrorCodes.InvalidField, "id must be a number or a string");
            reader.Skip();
            return;
        }

        var start = (int)reader.TokenStartIndex;
        var end = (int)reader.BytesConsumed;
        if (end - start > MaxIdBytes)
        {
            fields.Fail(ErrorCodes.InvalidField, $"id must be at most {MaxIdBytes} bytes");
            return;
        }

        fields.Id = json[start..end];
    }

    private static void ReadSince(ref Utf8JsonReader reader, ref RawFields fields)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            fields.Fail(ErrorCodes.InvalidField, "since must be an object {\"offset\":N,\"epoch\":E}");
            reader.Skip();
            return;
        }

        ulong? offset = null;
        string? epoch = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("offset"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out var value))
            {
                offset = value;
            }
            else if (name.SequenceEqual("epoch"u8) && reader.TokenType == JsonTokenType.String)
            {
                epoch = TryGetString(ref reader, "since.epoch", ref fields) ?? string.Empty;
            }
            else
            {
                reader.Skip();
            }
        }

        if (offset is null || epoch is null)
        {
            fields.Fail(ErrorCodes.InvalidField, "since needs a non-negative integer offset and a string epoch");
            return;
        }

        fields.Since = new StreamPosition(offset.Value, epoch);
    }

    private static bool Build(ref RawFields fields, out ClientCommand command, out ProtocolError error)
    {
        command = new ClientCommand { Op = default, Id = fields.Id };
        if (fields.Op is null)
        {
            error = new ProtocolError(ErrorCodes.InvalidField, "op is required");
            return false;
        }

        CommandOp? op = fields.Op switch
        {
            "join" => CommandOp.Join,
            "leave" => CommandOp.Leave,
            "publish" => CommandOp.Publish,
            "send" => CommandOp.Send,
            "presence" => CommandOp.Presence,
            "history" => CommandOp.History,
            "auth" => CommandOp.Auth,
            "refresh" => CommandOp.Refresh,
            _ => null,
        };
        if (op is null)
        {
            error = new ProtocolError(ErrorCodes.UnknownOp, $"unknown op '{Truncate(fields.Op)}'");
            return false;
        }

        error = default;
        if (op is CommandOp.Auth or CommandOp.Refresh)
        {
            if (string.IsNullOrEmpty(fields.Token))
            {
                error = new ProtocolError(ErrorCodes.InvalidField, "token is required");
            }
        }
        else if (op is CommandOp.Send)
        {
            if (fields.User is null)
            {
                error = new ProtocolError(ErrorCodes.InvalidField, "user is required");
            }
            else if (!NameRules.IsValid(fields.User))
            {
                error = new ProtocolError(ErrorCodes.InvalidUser, "user must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +");
            }
        }
        else if (fields.Room is null)
        {
            error = new ProtocolError(ErrorCodes.InvalidField, "room is required");
        }
        else if (!NameRules.IsValid(fields.Room))
        {
            error = new ProtocolError(ErrorCodes.InvalidRoom, "room must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +");
        }

        if (error.Code is null && op is CommandOp.Publish or CommandOp.Send && !fields.HasData)
        {
            error = new ProtocolError(ErrorCodes.InvalidField, "data is required");
        }

        if (error.Code is null && fields.IdempotencyKey is { } key && !NameRules.IsValid(key))
        {
            error = new ProtocolError(ErrorCodes.InvalidField, "idempotencyKey must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +");
        }

        if (error.Code is not null)
        {
            return false;
        }

        command = new ClientCommand
        {
            Op = op.Value,
            Id = fields.Id,
            Room = fields.Room,
            User = fields.User,
            Data = JsonText.WithoutRawNewlines(fields.Data),
            Since = fields.Since,
            Limit = fields.Limit,
            Token = fields.Token,
            IdempotencyKey = op is CommandOp.Publish ? fields.IdempotencyKey : null,
        };
        return true;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "...";

    private static string TrimMessage(string message)
    {
        // Utf8JsonReader messages end with a position suffix that is noise to a client.
        var cut = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private struct RawFields
    {
        public string? Op;
        public ReadOnlyMemory<byte> Id;
        public string? Room;
        public string? User;
        public ReadOnlyMemory<byte> Data;
        public bool HasData;
        public StreamPosition? Since;
        public string? Token;
        public int? Limit;
        public string? IdempotencyKey;
        public ProtocolError? Error;

        public void Fail(string code, string message) => Error ??= new ProtocolError(code, message);
    }
}
