using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Switchboard.Protocol;

/// <summary>
/// Encodes server-to-client messages as compact UTF-8 JSON without raw newlines, ready to be queued
/// as-is to any number of connections. Each call returns a fresh array sized exactly to the message,
/// so a publication costs one allocation however many members receive it.
/// </summary>
public static class ServerMessages
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    // Relaxed escaping: the output travels in WebSocket frames, never inside HTML, and keeping
    // non-ASCII text unescaped makes messages smaller.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary><c>{"op":"welcome","session":S,"user":U,"ping":seconds}</c></summary>
    public static byte[] Welcome(string session, string user, int pingSeconds)
    {
        var w = Start("welcome"u8);
        w.WriteString("session"u8, session);
        w.WriteString("user"u8, user);
        w.WriteNumber("ping"u8, pingSeconds);
        return Finish(w);
    }

    /// <summary>A room publication: <c>{"op":"message","room":R,"from":U,"offset":N,"data":...}</c>.</summary>
    /// <param name="room">The room.</param>
    /// <param name="from">The publishing user, or null for the HTTP API.</param>
    /// <param name="offset">The publication's offset in the room's stream.</param>
    /// <param name="payload">Raw JSON data, or binary bytes when <paramref name="binary"/> is set.</param>
    /// <param name="binary">Whether <paramref name="payload"/> is binary, written as base64 under <c>binary</c>.</param>
    public static byte[] Message(string room, string? from, ulong offset, ReadOnlySpan<byte> payload, bool binary)
    {
        var w = Start("message"u8);
        WritePublicationFields(w, room, from, offset, payload, binary);
        return Finish(w);
    }

    /// <summary>A direct message: <c>{"op":"direct","from":U,"data":...}</c>.</summary>
    public static byte[] Direct(string? from, ReadOnlySpan<byte> data)
    {
        var w = Start("direct"u8);
        WriteNullableString(w, "from"u8, from);
        w.WritePropertyName("data"u8);
        w.WriteRawValue(data, skipInputValidation: true);
        return Finish(w);
    }

    /// <summary><c>{"op":"joined","room":R,"user":U}</c> or <c>{"op":"left",...}</c>.</summary>
    public static byte[] PresenceChange(bool joined, string room, string user)
    {
        var w = Start(joined ? "joined"u8 : "left"u8);
        w.WriteString("room"u8, room);
        w.WriteString("user"u8, user);
        return Finish(w);
    }

    /// <summary>
    /// <c>{"op":"removed","room":R,"code":C,"message":M}</c>: the server ended this connection's
    /// membership of <paramref name="room"/> (for example a refreshed token no longer grants it).
    /// <paramref name="code"/> is an error code; the client marks the room left and does not rejoin it.
    /// </summary>
    public static byte[] Removed(string room, string code, string message) => Removed(room, code, message, rejoin: false);

    /// <summary>
    /// <c>{"op":"removed","room":R,"code":C,"message":M,"rejoin":true}</c> when <paramref name="rejoin"/>
    /// is set: the membership ended, but the client is invited to join the room again at once with its
    /// <c>since</c> (a lost stream, <see cref="ErrorCodes.StreamLost"/>). A client that does not know the
    /// field treats it as any other removal.
    /// </summary>
    public static byte[] Removed(string room, string code, string message, bool rejoin)
    {
        var w = Start("removed"u8);
        w.WriteString("room"u8, room);
        w.WriteString("code"u8, code);
        w.WriteString("message"u8, message);
        if (rejoin)
        {
            w.WriteBoolean("rejoin"u8, true);
        }

        return Finish(w);
    }

    /// <summary><c>{"op":"error","id":...,"code":C,"message":M}</c>; the id is omitted when empty.</summary>
    public static byte[] Error(ReadOnlySpan<byte> id, string code, string message)
    {
        var w = Start("error"u8);
        WriteId(w, id);
        w.WriteString("code"u8, code);
        w.WriteString("message"u8, message);
        return Finish(w);
    }

    /// <summary>An acknowledgement with no result fields: <c>{"op":"reply","id":...}</c>.</summary>
    public static byte[] Ack(ReadOnlySpan<byte> id)
    {
        var w = StartReply(id);
        return Finish(w);
    }

    /// <summary>
    /// The reply to a leave: <c>{"op":"reply","id":...,"room":R}</c>. It names the room so that an
    /// HTTP stream can drop it from its event ids.
    /// </summary>
    public static byte[] LeaveReply(ReadOnlySpan<byte> id, string room)
    {
        var w = StartReply(id);
        w.WriteString("room"u8, room);
        return Finish(w);
    }

    /// <summary>
    /// The last message of a server-sent-events or HTTP stream, which has no close frame:
    /// <c>{"op":"close","code":C,"reason":R}</c>, with the code a WebSocket would have closed with.
    /// </summary>
    public static byte[] Close(int code, string reason)
    {
        var w = Start("close"u8);
        w.WriteNumber("code"u8, code);
        w.WriteString("reason"u8, reason);
        return Finish(w);
    }

    /// <summary>The reply to a publish: <c>{"op":"reply","id":...,"offset":N,"epoch":E}</c>.</summary>
    public static byte[] PublishReply(ReadOnlySpan<byte> id, StreamPosition position)
    {
        var w = StartReply(id);
        WritePosition(w, position);
        return Finish(w);
    }

    /// <summary>
    /// The reply to a join or history: the room's current position, whether recovery succeeded
    /// (when asked), and <paramref name="publications"/>, each an encoded <see cref="Message"/>.
    /// A join reply names its <paramref name="room"/>: an HTTP stream builds its event ids from it.
    /// </summary>
    public static byte[] StreamReply(ReadOnlySpan<byte> id, StreamPosition position, bool? recovered, IReadOnlyList<byte[]>? publications, string? room = null)
    {
        var w = StartReply(id);
        if (room is not null)
        {
            w.WriteString("room"u8, room);
        }

        WritePosition(w, position);
        if (recovered is { } value)
        {
            w.WriteBoolean("recovered"u8, value);
        }

        if (publications is not null)
        {
            w.WriteStartArray("publications"u8);
            foreach (var publication in publications)
            {
                w.WriteRawValue(publication, skipInputValidation: true);
            }

            w.WriteEndArray();
        }

        return Finish(w);
    }

    /// <summary>The reply to a presence query: <c>{"op":"reply","id":...,"room":R,"users":{"alice":2}}</c>.</summary>
    public static byte[] PresenceReply(ReadOnlySpan<byte> id, string room, IEnumerable<KeyValuePair<string, int>> users)
    {
        var w = StartReply(id);
        w.WriteString("room"u8, room);
        w.WriteStartObject("users"u8);
        foreach (var (user, connections) in users)
        {
            w.WriteNumber(user, connections);
        }

        w.WriteEndObject();
        return Finish(w);
    }

    private static void WritePublicationFields(Utf8JsonWriter w, string room, string? from, ulong offset, ReadOnlySpan<byte> payload, bool binary)
    {
        w.WriteString("room"u8, room);
        WriteNullableString(w, "from"u8, from);
        w.WriteNumber("offset"u8, offset);
        if (binary)
        {
            w.WriteBase64String("binary"u8, payload);
        }
        else
        {
            w.WritePropertyName("data"u8);
            w.WriteRawValue(payload, skipInputValidation: true);
        }
    }

    private static void WritePosition(Utf8JsonWriter w, StreamPosition position)
    {
        w.WriteNumber("offset"u8, position.Offset);
        w.WriteString("epoch"u8, position.Epoch);
    }

    private static void WriteNullableString(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteId(Utf8JsonWriter w, ReadOnlySpan<byte> id)
    {
        if (!id.IsEmpty)
        {
            w.WritePropertyName("id"u8);
            w.WriteRawValue(id, skipInputValidation: true);
        }
    }

    private static Utf8JsonWriter StartReply(ReadOnlySpan<byte> id)
    {
        var w = Start("reply"u8);
        WriteId(w, id);
        return w;
    }

    private static Utf8JsonWriter Start(ReadOnlySpan<byte> op)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteString("op"u8, op);
        return w;
    }

    private static byte[] Finish(Utf8JsonWriter w)
    {
        w.WriteEndObject();
        w.Flush();
        var bytes = t_buffer!.WrittenSpan.ToArray();
        if (t_buffer.Capacity > 64 * 1024)
        {
            // A one-off huge message must not pin a large buffer to this thread for ever.
            t_buffer = null;
            t_writer = null;
        }

        return bytes;
    }
}
