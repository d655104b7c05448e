using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Redis;

/// <summary>
/// What travels on Redis channels and in stream entries. Every message is one short ASCII header
/// line, a newline, then the body bytes untouched (Redis strings are binary-safe, so binary payloads
/// need no base64):
/// <list type="bullet">
/// <item>publication (room channel and stream field <c>p</c>): <c>OFFSET EPOCH TIME_MS t|b FROM</c>, FROM empty for the HTTP API; written by the publish script.
/// A traced publication says <c>tc|bc</c> instead and has a second line before the body, its publish span's W3C trace
/// context: <c>TRACEPARENT</c>, or <c>TRACEPARENT TRACESTATE</c>. Publications without it (every one before this
/// format, and every one published while nobody traced) read as before.</item>
/// <item>presence event (room channel): <c>P NODE t|b</c>, body the encoded <c>joined</c>/<c>left</c> frame.</item>
/// <item>direct message (user channel): <c>D NODE t|b</c>, body the encoded <c>direct</c> frame.</item>
/// <item>direct count (user channel): <c>S COUNT</c>, no body: how many directs were sent to the user lately (<see cref="LuaScripts.SyncDirects"/>).</item>
/// </list>
/// NODE lets the sending node skip its own echo: it delivered locally already.
/// </summary>
internal static class ChannelMessages
{
    public const byte PresenceKind = (byte)'P';
    public const byte DirectKind = (byte)'D';
    public const byte DirectCountKind = (byte)'S';

    /// <summary>Decodes a direct count (<c>S COUNT</c>); false for anything else.</summary>
    public static bool TryParseDirectCount(ReadOnlySpan<byte> message, out long count)
    {
        count = 0;
        return message is [DirectCountKind, (byte)' ', ..] && Utf8Parser.TryParse(message[2..], out count, out var consumed) && consumed == message.Length - 2;
    }

    /// <summary>Whether a room channel message is a publication (its header starts with the offset).</summary>
    public static bool IsPublication(ReadOnlySpan<byte> message) => message.Length > 0 && char.IsAsciiDigit((char)message[0]);

    /// <summary>Reads only the offset and epoch of a publication, so an echo already delivered costs no decoding.</summary>
    /// <summary>As <see cref="TryPeek(ReadOnlySpan{byte}, out ulong, out ReadOnlySpan{byte})"/>, and the publication's time (Redis ms), which tells an echo from another publication under the same offset.</summary>
    public static bool TryPeek(ReadOnlySpan<byte> message, out ulong offset, out ReadOnlySpan<byte> epoch, out long timeMs)
    {
        timeMs = 0;
        if (!TryPeek(message, out offset, out epoch))
        {
            return false;
        }

        var afterEpoch = message[(message.IndexOf((byte)' ') + 1 + epoch.Length + 1)..];
        return Utf8Parser.TryParse(afterEpoch, out timeMs, out var consumed) && consumed < afterEpoch.Length && afterEpoch[consumed] == (byte)' ';
    }

    public static bool TryPeek(ReadOnlySpan<byte> message, out ulong offset, out ReadOnlySpan<byte> epoch)
    {
        epoch = default;
        if (!Utf8Parser.TryParse(message, out offset, out var consumed) || consumed >= message.Length || message[consumed] != (byte)' ')
        {
            return false;
        }

        var rest = message[(consumed + 1)..];
        var space = rest.IndexOf((byte)' ');
        if (space <= 0)
        {
            return false;
        }

        epoch = rest[..space];
        return true;
    }

    /// <summary>
    /// The trace context line of a publication published in <paramref name="publish"/>: its
    /// <c>traceparent</c> (the span's W3C id, already a string), a space and its <c>tracestate</c> if it
    /// has one, and the newline. Neither can hold a newline (W3C allows printable ASCII only).
    /// </summary>
    public static string TraceLine(Activity publish) =>
        string.IsNullOrEmpty(publish.TraceStateString) ? publish.Id + "\n" : publish.Id + " " + publish.TraceStateString + "\n";

    /// <summary>
    /// Decodes a publication of <paramref name="room"/>; false when the message is malformed. The trace
    /// context is decoded only <paramref name="withTrace"/> (for a delivery; a history read skips it).
    /// A trace context that does not parse is dropped: the publication is delivered all the same.
    /// </summary>
    public static bool TryParsePublication(string room, byte[] message, out Publication? publication, out string epoch, bool withTrace = true)
    {
        publication = null;
        epoch = string.Empty;
        var newline = Array.IndexOf(message, (byte)'\n');
        if (newline < 0)
        {
            return false;
        }

        // OFFSET EPOCH TIME t|b FROM: four spaces; FROM, the last field, may be empty.
        ReadOnlySpan<byte> rest = message.AsSpan(0, newline);
        Span<Range> parts = stackalloc Range[5];
        var start = 0;
        for (var i = 0; i < 4; i++)
        {
            var space = rest[start..].IndexOf((byte)' ');
            if (space < 0)
            {
                return false;
            }

            parts[i] = new Range(start, start + space);
            start += space + 1;
        }

        parts[4] = new Range(start, rest.Length);
        var header = rest;
        if (!Utf8Parser.TryParse(header[parts[0]], out ulong offset, out var used0) || used0 != header[parts[0]].Length
            || !Utf8Parser.TryParse(header[parts[2]], out long milliseconds, out var used2) || used2 != header[parts[2]].Length
            || header[parts[3]] is not ([(byte)'t' or (byte)'b'] or [(byte)'t' or (byte)'b', (byte)'c']))
        {
            return false;
        }

        var body = newline + 1;
        var trace = default(ActivityContext);
        if (header[parts[3]].Length == 2)
        {
            var end = Array.IndexOf(message, (byte)'\n', body);
            if (end < 0)
            {
                return false;
            }

            if (withTrace)
            {
                trace = ParseTraceLine(message.AsSpan(body, end - body));
            }

            body = end + 1;
        }

        epoch = Encoding.ASCII.GetString(header[parts[1]]);
        var from = header[parts[4]].IsEmpty ? null : Encoding.UTF8.GetString(header[parts[4]]);
        var isBinary = header[parts[3]][0] == (byte)'b';
        publication = new Publication(room, offset, from, message.AsMemory(body), isBinary, DateTimeOffset.FromUnixTimeMilliseconds(milliseconds))
        {
            TraceContext = trace,
        };
        return true;
    }

    private static ActivityContext ParseTraceLine(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        var traceParent = Encoding.ASCII.GetString(space < 0 ? line : line[..space]);
        var traceState = space < 0 ? null : Encoding.ASCII.GetString(line[(space + 1)..]);
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : default;
    }

    /// <summary>Encodes a presence event or a direct message sent by <paramref name="node"/>.</summary>
    public static byte[] Event(byte kind, string node, OutboundFrame frame)
    {
        var headerLength = 1 + 1 + node.Length + 3;
        var message = new byte[headerLength + frame.Data.Length];
        message[0] = kind;
        message[1] = (byte)' ';
        Encoding.ASCII.GetBytes(node, message.AsSpan(2));
        message[2 + node.Length] = (byte)' ';
        message[3 + node.Length] = frame.IsBinary ? (byte)'b' : (byte)'t';
        message[4 + node.Length] = (byte)'\n';
        frame.Data.CopyTo(message.AsSpan(headerLength));
        return message;
    }

    /// <summary>Decodes a presence event or direct message; false when malformed or not of <paramref name="kind"/>.</summary>
    public static bool TryParseEvent(byte kind, byte[] message, out string node, out OutboundFrame frame)
    {
        node = string.Empty;
        frame = default;
        var newline = Array.IndexOf(message, (byte)'\n');
        if (newline < 0 || message.Length < 5 || message[0] != kind || message[1] != (byte)' ')
        {
            return false;
        }

        var header = message.AsSpan(2, newline - 2);
        var space = header.IndexOf((byte)' ');
        if (space <= 0 || header[(space + 1)..] is not [(byte)'t' or (byte)'b'])
        {
            return false;
        }

        node = Encoding.ASCII.GetString(header[..space]);
        var data = message.AsSpan(newline + 1).ToArray();
        frame = header[space + 1] == (byte)'b' ? OutboundFrame.Binary(data) : OutboundFrame.Text(data);
        return true;
    }
}
