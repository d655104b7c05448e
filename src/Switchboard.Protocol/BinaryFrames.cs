using System.Buffers.Binary;
using System.Text;

namespace Switchboard.Protocol;

/// <summary>
/// The binary frame header that lets a binary payload be published to a room on <c>/ws</c>.
/// <para>Client to server, publish: <c>[0x01][room length L: 1 byte][room: L ASCII bytes][payload]</c>.</para>
/// <para>Server to client, message: <c>[0x02][room length L][room][offset: 8 bytes big-endian]
/// [from length F: 1 byte, 0 when published by the server][from: F bytes][payload]</c>.</para>
/// </summary>
public static class BinaryFrames
{
    /// <summary>First byte of a client binary publish.</summary>
    public const byte PublishKind = 0x01;

    /// <summary>First byte of a server binary message.</summary>
    public const byte MessageKind = 0x02;

    /// <summary>Encodes a client binary publish frame.</summary>
    public static byte[] EncodePublish(string room, ReadOnlySpan<byte> payload)
    {
        var roomLength = Encoding.ASCII.GetByteCount(room);
        var frame = new byte[2 + roomLength + payload.Length];
        frame[0] = PublishKind;
        frame[1] = (byte)roomLength;
        Encoding.ASCII.GetBytes(room, frame.AsSpan(2));
        payload.CopyTo(frame.AsSpan(2 + roomLength));
        return frame;
    }

    /// <summary>Reads a client binary publish frame; false when the header is invalid.</summary>
    public static bool TryDecodePublish(ReadOnlyMemory<byte> frame, out string room, out ReadOnlyMemory<byte> payload)
    {
        room = string.Empty;
        payload = default;
        var span = frame.Span;
        if (span.Length < 2 || span[0] != PublishKind)
        {
            return false;
        }

        var roomLength = span[1];
        if (span.Length < 2 + roomLength || !NameRules.IsValid(span.Slice(2, roomLength)))
        {
            return false;
        }

        room = Encoding.ASCII.GetString(span.Slice(2, roomLength));
        payload = frame[(2 + roomLength)..];
        return true;
    }

    /// <summary>Encodes a server binary message frame.</summary>
    public static byte[] EncodeMessage(string room, string? from, ulong offset, ReadOnlySpan<byte> payload)
    {
        var roomLength = Encoding.ASCII.GetByteCount(room);
        var fromLength = from is null ? 0 : Encoding.UTF8.GetByteCount(from);
        if (fromLength > byte.MaxValue)
        {
            throw new ArgumentException("from is longer than 255 bytes", nameof(from));
        }

        var frame = new byte[2 + roomLength + 8 + 1 + fromLength + payload.Length];
        var span = frame.AsSpan();
        span[0] = MessageKind;
        span[1] = (byte)roomLength;
        Encoding.ASCII.GetBytes(room, span[2..]);
        var at = 2 + roomLength;
        BinaryPrimitives.WriteUInt64BigEndian(span[at..], offset);
        at += 8;
        span[at++] = (byte)fromLength;
        if (from is not null)
        {
            Encoding.UTF8.GetBytes(from, span[at..]);
        }

        payload.CopyTo(span[(at + fromLength)..]);
        return frame;
    }

    /// <summary>Reads a server binary message frame; false when the header is invalid.</summary>
    public static bool TryDecodeMessage(ReadOnlyMemory<byte> frame, out string room, out string? from, out ulong offset, out ReadOnlyMemory<byte> payload)
    {
        room = string.Empty;
        from = null;
        offset = 0;
        payload = default;
        var span = frame.Span;
        if (span.Length < 2 || span[0] != MessageKind)
        {
            return false;
        }

        int roomLength = span[1];
        var at = 2 + roomLength;
        if (span.Length < at + 9)
        {
            return false;
        }

        room = Encoding.ASCII.GetString(span.Slice(2, roomLength));
        offset = BinaryPrimitives.ReadUInt64BigEndian(span[at..]);
        at += 8;
        int fromLength = span[at++];
        if (span.Length < at + fromLength)
        {
            return false;
        }

        from = fromLength == 0 ? null : Encoding.UTF8.GetString(span.Slice(at, fromLength));
        payload = frame[(at + fromLength)..];
        return true;
    }
}
