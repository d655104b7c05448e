using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Switchboard.Protocol;

namespace Switchboard.Client;

/// <summary>Encodes client commands as compact UTF-8 JSON, one per text frame.</summary>
internal static class Commands
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Join(long id, string room, StreamPosition? since) => Write("join", id, w =>
    {
        w.WriteString("room"u8, room);
        if (since is { } position)
        {
            WriteSince(w, position);
        }
    });

    public static byte[] Leave(long id, string room) => Write("leave", id, w => w.WriteString("room"u8, room));

    public static byte[] Presence(long id, string room) => Write("presence", id, w => w.WriteString("room"u8, room));

    public static byte[] History(long id, string room, int? limit, StreamPosition? since) => Write("history", id, w =>
    {
        w.WriteString("room"u8, room);
        if (limit is { } value)
        {
            w.WriteNumber("limit"u8, value);
        }

        if (since is { } position)
        {
            WriteSince(w, position);
        }
    });

    /// <summary><paramref name="json"/> is validated here, so malformed data fails the caller instead of drawing a bad_request.</summary>
    public static byte[] Publish(long id, string room, ReadOnlySpan<byte> json, string? idempotencyKey = null)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length + 64);
        using (var w = Start(buffer, "publish", id))
        {
            w.WriteString("room"u8, room);
            if (idempotencyKey is not null)
            {
                w.WriteString("idempotencyKey"u8, idempotencyKey);
            }

            w.WritePropertyName("data"u8);
            w.WriteRawValue(json);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Send(long id, string user, ReadOnlySpan<byte> json)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length + 64);
        using (var w = Start(buffer, "send", id))
        {
            w.WriteString("user"u8, user);
            w.WritePropertyName("data"u8);
            w.WriteRawValue(json);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Refresh(long id, string token) => Write("refresh", id, w => w.WriteString("token"u8, token));

    private static void WriteSince(Utf8JsonWriter w, StreamPosition position)
    {
        w.WriteStartObject("since"u8);
        w.WriteNumber("offset"u8, position.Offset);
        w.WriteString("epoch"u8, position.Epoch);
        w.WriteEndObject();
    }

    private static byte[] Write(string op, long id, Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = Start(buffer, op, id))
        {
            fields(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static Utf8JsonWriter Start(ArrayBufferWriter<byte> buffer, string op, long id)
    {
        var w = new Utf8JsonWriter(buffer, WriterOptions);
        w.WriteStartObject();
        w.WriteString("op"u8, op);
        w.WriteNumber("id"u8, id);
        return w;
    }
}
