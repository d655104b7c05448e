using System.Buffers.Text;
using System.Text;

namespace Switchboard.Load.Modes;

/// <summary>
/// Writes publish commands into one reused buffer:
/// <c>{"op":"publish","room":R,"id":N,"data":{"t":TIMESTAMP,"p":"xxx…"}}</c>, where <c>t</c> is the
/// <see cref="System.Diagnostics.Stopwatch"/> timestamp at send and the padding makes the data value
/// <c>--payload-bytes</c> long. With <c>--chat-payload</c> the data is
/// <c>{"t":TIMESTAMP,"user":"alice","text":"…"}</c> instead, its text rotating through chat-like samples.
/// </summary>
internal sealed class PublishFrameWriter
{
    private const int DataOverhead = 13; // {"t":  ,"p":"  "}
    private const int ChatOverhead = 35; // {"t":  ,"user":"alice","text":"  "} without the timestamp's digits
    private const int TimestampDigits = 15;
    private const int ChatSamples = 256;

    private readonly byte[] _prefix;
    private readonly byte[] _buffer;
    private readonly int _payloadBytes;
    private readonly byte[][]? _chat;
    private int _nextChat;

    public PublishFrameWriter(string room, int payloadBytes, bool chat = false)
    {
        _prefix = Encoding.UTF8.GetBytes($"{{\"op\":\"publish\",\"room\":\"{room}\",\"id\":");
        _payloadBytes = payloadBytes;
        _buffer = new byte[_prefix.Length + 20 + 8 + payloadBytes + 64];
        _chat = chat ? ChatText.Samples(ChatSamples, Math.Max(1, payloadBytes - ChatOverhead - TimestampDigits)) : null;
    }

    /// <summary>The frame for one publication; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Write(long id, long timestamp)
    {
        var span = _buffer.AsSpan();
        _prefix.CopyTo(span);
        var at = _prefix.Length;
        at += Format(id, span[at..]);
        at += Append(",\"data\":{\"t\":"u8, span[at..]);
        var digits = Format(timestamp, span[at..]);
        at += digits;
        if (_chat is not null)
        {
            at += Append(",\"user\":\"alice\",\"text\":\""u8, span[at..]);
            at += Append(_chat[_nextChat++ % _chat.Length], span[at..]);
            at += Append("\"}}"u8, span[at..]);
            return _buffer.AsMemory(0, at);
        }

        at += Append(",\"p\":\""u8, span[at..]);
        var padding = Math.Max(0, _payloadBytes - DataOverhead - digits);
        span.Slice(at, padding).Fill((byte)'x');
        at += padding;
        at += Append("\"}}"u8, span[at..]);
        return _buffer.AsMemory(0, at);
    }

    private static int Format(long value, Span<byte> destination)
    {
        Utf8Formatter.TryFormat(value, destination, out var written);
        return written;
    }

    private static int Append(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }
}
