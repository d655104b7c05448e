using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;

namespace KestrelConnPeer;

/// <summary>
/// The reading half: client frames parsed straight from Kestrel's pipe. Text and binary messages
/// go to the room (fragmented ones reassembled first); a ping is answered with a pong through the send
/// queue; a close ends the loop and is answered by the owner. The only state kept between reads is a
/// fragmented message under way, created by its first fragment and dropped by its last.
/// </summary>
public sealed partial class Member
{
    // The same bound as KestrelPeer's receive buffer; a longer message closes with 1009.
    private const int MaxMessageBytes = 64 * 1024;
    private const int MaxControlPayload = 125;

    private ArrayBufferWriter<byte>? _fragments;
    private byte _fragmentOpcode;

    /// <summary>Handles every whole frame at the start of <paramref name="buffer"/> and leaves the rest in it; null while the connection goes on.</summary>
    private Ending? ReadFrames(ref ReadOnlySequence<byte> buffer, string room, Rooms rooms)
    {
        while (ClientFrame.TryReadHeader(buffer, out var frame))
        {
            if (Violation(frame) is { } status)
            {
                return Ending.Refused(status);
            }

            if (buffer.Length - frame.HeaderLength < frame.PayloadLength)
            {
                // The rest of the payload is still coming; Violation has bounded how much that is.
                return null;
            }

            var payload = buffer.Slice(frame.HeaderLength, frame.PayloadLength);
            buffer = buffer.Slice(payload.End);
            if (Handle(frame, payload, room, rooms) is { } ending)
            {
                return ending;
            }
        }

        return null;
    }

    /// <summary>The close status a frame header earns before its payload is read, or null when it is acceptable.</summary>
    private ushort? Violation(in ClientFrame frame)
    {
        if (!frame.Masked || frame.ReservedBits)
        {
            return ServerFrames.ProtocolError;
        }

        if (frame.IsControl)
        {
            var known = frame.Opcode is ServerFrames.Close or ServerFrames.Ping or ServerFrames.Pong;
            return known && frame.Fin && frame.PayloadLength <= MaxControlPayload ? null : ServerFrames.ProtocolError;
        }

        var inMessage = _fragments is not null;
        var inOrder = frame.Opcode switch
        {
            ServerFrames.Continuation => inMessage,
            ServerFrames.Text or ServerFrames.Binary => !inMessage,
            _ => false,
        };
        if (!inOrder)
        {
            return ServerFrames.ProtocolError;
        }

        return frame.PayloadLength + (_fragments?.WrittenCount ?? 0) > MaxMessageBytes ? ServerFrames.MessageTooBig : null;
    }

    private Ending? Handle(in ClientFrame frame, in ReadOnlySequence<byte> payload, string room, Rooms rooms)
    {
        switch (frame.Opcode)
        {
            case ServerFrames.Close:
                return ClientClose(frame, payload);
            case ServerFrames.Ping:
                Enqueue(ServerFrames.FromMasked(ServerFrames.Pong, payload, frame.Mask));
                return null;
            case ServerFrames.Pong:
                return null;
            case ServerFrames.Continuation:
                Append(payload, frame.Mask);
                if (!frame.Fin)
                {
                    return null;
                }

                var message = ServerFrames.Allocate(_fragmentOpcode, _fragments!.WrittenCount, out var offset);
                _fragments.WrittenSpan.CopyTo(message.AsSpan(offset));
                _fragments = null;
                return Deliver(message, offset, room, rooms);
            default:
                if (frame.Fin)
                {
                    var whole = ServerFrames.FromMasked(frame.Opcode, payload, frame.Mask);
                    return Deliver(whole, whole.Length - (int)payload.Length, room, rooms);
                }

                _fragments = new ArrayBufferWriter<byte>();
                _fragmentOpcode = frame.Opcode;
                Append(payload, frame.Mask);
                return null;
        }
    }

    /// <summary>Sends a whole message's frame, encoded once, to the room; text must be UTF-8 (section 8.1).</summary>
    private static Ending? Deliver(byte[] message, int payloadOffset, string room, Rooms rooms)
    {
        if ((message[0] & 0x0F) == ServerFrames.Text && !Utf8.IsValid(message.AsSpan(payloadOffset)))
        {
            return Ending.Refused(ServerFrames.InvalidPayload);
        }

        rooms.Broadcast(room, message);
        return null;
    }

    private void Append(in ReadOnlySequence<byte> payload, uint mask)
    {
        var length = (int)payload.Length;
        var target = _fragments!.GetSpan(length)[..length];
        payload.CopyTo(target);
        ClientFrame.Unmask(target, mask);
        _fragments.Advance(length);
    }

    private static Ending ClientClose(in ClientFrame frame, in ReadOnlySequence<byte> payload)
    {
        if (payload.Length == 1)
        {
            return Ending.Refused(ServerFrames.ProtocolError);
        }

        if (payload.Length == 0)
        {
            return Ending.ClientClosed(ServerFrames.NoStatus);
        }

        Span<byte> body = stackalloc byte[MaxControlPayload];
        body = body[..(int)payload.Length];
        payload.CopyTo(body);
        ClientFrame.Unmask(body, frame.Mask);
        return Ending.ClientClosed(BinaryPrimitives.ReadUInt16BigEndian(body));
    }
}
