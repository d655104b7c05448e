using System.Buffers;
using System.Text;
using System.Text.Json;
using Switchboard.Protocol;

namespace Switchboard.Transports;

/// <summary>
/// The position of a server-sent-events stream in every room it carries, written as each event's id so
/// that a browser's <c>EventSource</c> sends it back as <c>Last-Event-ID</c> when it reconnects.
/// </summary>
/// <remarks>
/// <para>Format: <c>room~epoch~offset</c> per room, joined by commas (<c>lobby~8f1d2c3b4a596877~41,news~...~7</c>),
/// or <c>0</c> when the stream carries no room. Neither separator is allowed in a room name or an epoch.</para>
/// <para>It is built from the events themselves, in the order they are written, so an event's id covers
/// exactly what the client had read when it received that event: a join reply (which names its room,
/// its epoch and the top it covers) enters the room, each <c>message</c> moves its offset, a leave
/// reply or a <c>removed</c> drops it. Only the send loop touches it.</para>
/// </remarks>
internal sealed class StreamCursor
{
    private const string ResumeIdPrefix = "resume:";
    private static readonly byte[] Empty = "0"u8.ToArray();

    private readonly Dictionary<string, (string Epoch, ulong Offset)> _rooms = new(StringComparer.Ordinal);
    private byte[]? _id;

    /// <summary>The event id for the stream's current position.</summary>
    public ReadOnlySpan<byte> Id => _id ??= Render();

    /// <summary>The rooms to rejoin, with <c>since</c>, when a stream resumes from <c>Last-Event-ID</c>.</summary>
    public IReadOnlyCollection<KeyValuePair<string, (string Epoch, ulong Offset)>> Rooms => _rooms;

    /// <summary>
    /// Reads a <c>Last-Event-ID</c>; a malformed one (or one naming more than <paramref name="maxRooms"/>
    /// rooms) is ignored as a whole, and the stream starts afresh.
    /// </summary>
    public static StreamCursor Parse(string? lastEventId, int maxRooms)
    {
        var cursor = new StreamCursor();
        if (string.IsNullOrEmpty(lastEventId) || lastEventId == "0")
        {
            return cursor;
        }

        var entries = lastEventId.Split(',');
        if (entries.Length > maxRooms)
        {
            return new StreamCursor();
        }

        foreach (var entry in entries)
        {
            var parts = entry.Split('~');
            if (parts.Length != 3 || !NameRules.IsValid(parts[0]) || !IsEpoch(parts[1]) || !ulong.TryParse(parts[2], out var offset))
            {
                return new StreamCursor();
            }

            cursor._rooms[parts[0]] = (parts[1], offset);
        }

        return cursor;
    }

    /// <summary>
    /// The join a resumed stream runs for each room, before any posted command: its reply (id
    /// <c>"resume:ROOM"</c>) says whether the gap was recovered, exactly as a join with <c>since</c> would.
    /// </summary>
    public static byte[] ResumeJoin(string room, string epoch, ulong offset)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("op"u8, "join"u8);
            w.WriteString("room"u8, room);
            w.WriteStartObject("since"u8);
            w.WriteNumber("offset"u8, offset);
            w.WriteString("epoch"u8, epoch);
            w.WriteEndObject();
            w.WriteString("id"u8, ResumeIdPrefix + room);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Moves the position past <paramref name="json"/>, one server message about to be written.</summary>
    public void Observe(ReadOnlySpan<byte> json)
    {
        var (op, room, epoch, offset, hasUsers, resumeRoom) = Read(json);
        switch (op)
        {
            case "message" when room is not null && offset is { } at && _rooms.TryGetValue(room, out var current) && at > current.Offset:
                Set(room, (current.Epoch, at));
                break;
            case "reply" when room is not null && epoch is not null && offset is { } top:
                Set(room, (epoch, top));
                break;
            case "reply" when room is not null && !hasUsers:
            case "removed" when room is not null:
                Remove(room);
                break;
            case "error" when resumeRoom is not null:
                // A resumed room the client may no longer join: forget it rather than try again next time.
                Remove(resumeRoom);
                break;
        }
    }

    private void Set(string room, (string Epoch, ulong Offset) position)
    {
        _rooms[room] = position;
        _id = null;
    }

    private void Remove(string room)
    {
        if (_rooms.Remove(room))
        {
            _id = null;
        }
    }

    private byte[] Render()
    {
        if (_rooms.Count == 0)
        {
            return Empty;
        }

        var text = new StringBuilder();
        foreach (var (room, (epoch, offset)) in _rooms)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(room).Append('~').Append(epoch).Append('~').Append(offset);
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>Reads the top-level fields the position depends on, skipping payloads unparsed.</summary>
    private static (string? Op, string? Room, string? Epoch, ulong? Offset, bool HasUsers, string? ResumeRoom) Read(ReadOnlySpan<byte> json)
    {
        string? op = null, room = null, epoch = null, resumeRoom = null;
        ulong? offset = null;
        var hasUsers = false;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return default;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("op"u8) && reader.TokenType == JsonTokenType.String)
            {
                op = reader.GetString();
            }
            else if (name.SequenceEqual("room"u8) && reader.TokenType == JsonTokenType.String)
            {
                room = reader.GetString();
            }
            else if (name.SequenceEqual("epoch"u8) && reader.TokenType == JsonTokenType.String)
            {
                epoch = reader.GetString();
            }
            else if (name.SequenceEqual("offset"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out var value))
            {
                offset = value;
            }
            else if (name.SequenceEqual("users"u8))
            {
                hasUsers = true;
                reader.Skip();
            }
            else if (name.SequenceEqual("id"u8) && reader.TokenType == JsonTokenType.String && reader.GetString() is { } id && id.StartsWith(ResumeIdPrefix, StringComparison.Ordinal))
            {
                resumeRoom = id[ResumeIdPrefix.Length..];
            }
            else
            {
                reader.Skip();
            }
        }

        return (op, room, epoch, offset, hasUsers, resumeRoom);
    }

    private static bool IsEpoch(string epoch) =>
        epoch.Length is > 0 and <= 64 && epoch.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
