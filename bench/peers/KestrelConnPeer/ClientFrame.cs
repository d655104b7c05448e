using System.Buffers;
using System.Buffers.Binary;

namespace KestrelConnPeer;

/// <summary>The header of one client frame (RFC 6455 section 5.2), read without copying the payload.</summary>
internal readonly record struct ClientFrame(bool Fin, byte Opcode, bool Masked, bool ReservedBits, uint Mask, long PayloadLength, int HeaderLength)
{
    private const int MaxHeaderLength = 14;

    public bool IsControl => (Opcode & 0x8) != 0;

    /// <summary>Reads a frame header from the start of <paramref name="buffer"/>; false while it is incomplete.</summary>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out ClientFrame frame)
    {
        frame = default;
        if (buffer.Length < 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[MaxHeaderLength];
        var available = (int)Math.Min(MaxHeaderLength, buffer.Length);
        buffer.Slice(0, available).CopyTo(bytes);
        var masked = (bytes[1] & 0x80) != 0;
        var shortLength = bytes[1] & 0x7F;
        var headerLength = 2 + (shortLength == 126 ? 2 : shortLength == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (available < headerLength)
        {
            return false;
        }

        long payloadLength = shortLength switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]),
            // The top bit must be 0 (section 5.2); a length beyond long's range reads as too big.
            127 => (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]), long.MaxValue),
            _ => shortLength,
        };
        var mask = masked ? BinaryPrimitives.ReadUInt32LittleEndian(bytes[(headerLength - 4)..]) : 0;
        frame = new ClientFrame((bytes[0] & 0x80) != 0, (byte)(bytes[0] & 0x0F), masked, (bytes[0] & 0x70) != 0, mask, payloadLength, headerLength);
        return true;
    }

    /// <summary>XORs a payload with its frame's mask key, which starts again at each frame's first payload byte.</summary>
    public static void Unmask(Span<byte> payload, uint mask)
    {
        // The key read little-endian: byte i of the payload takes byte (i % 4) of the key.
        var i = 0;
        for (; i + 4 <= payload.Length; i += 4)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(payload[i..]);
            BinaryPrimitives.WriteUInt32LittleEndian(payload[i..], word ^ mask);
        }

        for (; i < payload.Length; i++)
        {
            payload[i] ^= (byte)(mask >> (8 * (i & 3)));
        }
    }
}
