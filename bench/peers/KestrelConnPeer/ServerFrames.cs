using System.Buffers;
using System.Buffers.Binary;

namespace KestrelConnPeer;

/// <summary>RFC 6455 opcodes, close codes and the server's (unmasked) frames, each encoded once into one array.</summary>
internal static class ServerFrames
{
    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    /// <summary>A close frame with no body: the reply to a close that carried no status.</summary>
    public const ushort NoStatus = 0;
    public const ushort ProtocolError = 1002;
    public const ushort InvalidPayload = 1007;
    public const ushort MessageTooBig = 1009;

    /// <summary>One frame with <paramref name="payloadLength"/> bytes of room after its header, and where they start.</summary>
    public static byte[] Allocate(byte opcode, int payloadLength, out int payloadOffset)
    {
        payloadOffset = payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10;
        var frame = new byte[payloadOffset + payloadLength];
        frame[0] = (byte)(0x80 | opcode);
        switch (payloadOffset)
        {
            case 2:
                frame[1] = (byte)payloadLength;
                break;
            case 4:
                frame[1] = 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payloadLength);
                break;
            default:
                frame[1] = 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payloadLength);
                break;
        }

        return frame;
    }

    /// <summary>A frame carrying a client's masked payload, unmasked on the way in.</summary>
    public static byte[] FromMasked(byte opcode, in ReadOnlySequence<byte> maskedPayload, uint mask)
    {
        var frame = Allocate(opcode, (int)maskedPayload.Length, out var offset);
        var payload = frame.AsSpan(offset);
        maskedPayload.CopyTo(payload);
        ClientFrame.Unmask(payload, mask);
        return frame;
    }

    public static byte[] CloseFrame(ushort status)
    {
        if (status == NoStatus)
        {
            return Allocate(Close, 0, out _);
        }

        var frame = Allocate(Close, 2, out var offset);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), status);
        return frame;
    }
}
