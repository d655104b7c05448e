using System.Text.Json;

namespace Switchboard.Protocol;

/// <summary>Helpers for raw JSON text that the server forwards without re-serializing.</summary>
public static class JsonText
{
    /// <summary>
    /// Splits a client frame into its commands. A frame holds one JSON value or several separated by
    /// whitespace (usually one per line), and a single command may itself span lines when
    /// pretty-printed. Malformed text is handed out up to the next newline, so one bad line of a
    /// batch is answered with an error while the following lines still run.
    /// </summary>
    public static IEnumerable<ReadOnlyMemory<byte>> SplitValues(ReadOnlyMemory<byte> frame)
    {
        var rest = frame;
        while (SkipWhitespace(ref rest))
        {
            yield return TakeValue(ref rest);
        }
    }

    /// <summary>
    /// Moves <paramref name="rest"/> past leading whitespace; false when nothing else is left. Costs a
    /// scan and nothing more, so a caller can charge for the next command before it is even measured.
    /// </summary>
    public static bool SkipWhitespace(ref ReadOnlyMemory<byte> rest)
    {
        var skip = rest.Span.IndexOfAnyExcept(" \t\r\n"u8);
        if (skip < 0)
        {
            rest = ReadOnlyMemory<byte>.Empty;
            return false;
        }

        rest = rest[skip..];
        return true;
    }

    /// <summary>
    /// Takes the first value off <paramref name="rest"/>, which starts at a non-whitespace byte (see
    /// <see cref="SkipWhitespace"/>): a whole JSON object, or else the text up to the next newline.
    /// Only an object can be a command, so anything else is cut at the newline without running the
    /// JSON reader over it (a frame of <c>1 1 1 ...</c> is one bad line, not thirty thousand).
    /// </summary>
    public static ReadOnlyMemory<byte> TakeValue(ref ReadOnlyMemory<byte> rest)
    {
        var length = rest.Span[0] == (byte)'{' ? MeasureFirstValue(rest.Span) : -1;
        if (length <= 0)
        {
            var newline = rest.Span.IndexOf((byte)'\n');
            length = newline < 0 ? rest.Length : newline;
        }

        var value = rest[..length];
        rest = rest[length..];
        return value;
    }

    /// <summary>
    /// How many commands <paramref name="rest"/> holds at most one per line: its non-blank lines,
    /// counted without parsing. An upper bound when commands are pretty-printed over several lines.
    /// </summary>
    public static int CountLines(ReadOnlySpan<byte> rest)
    {
        var count = 0;
        while (!rest.IsEmpty)
        {
            var newline = rest.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            if (line.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                count++;
            }

            rest = newline < 0 ? [] : rest[(newline + 1)..];
        }

        return count;
    }

    private static int MeasureFirstValue(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64, AllowMultipleValues = true });
        try
        {
            if (!reader.Read())
            {
                return -1;
            }

            reader.Skip();
            return (int)reader.BytesConsumed;
        }
        catch (JsonException)
        {
            return -1;
        }
    }

    /// <summary>
    /// Returns <paramref name="json"/> with raw CR and LF bytes turned into spaces. Valid JSON can hold
    /// them only as insignificant whitespace (strings must escape them), so this keeps the meaning
    /// while making the value safe inside a newline-batched frame. Copies only when needed.
    /// </summary>
    public static ReadOnlyMemory<byte> WithoutRawNewlines(ReadOnlyMemory<byte> json)
    {
        var span = json.Span;
        if (span.IndexOfAny((byte)'\n', (byte)'\r') < 0)
        {
            return json;
        }

        var copy = span.ToArray();
        copy.AsSpan().Replace((byte)'\n', (byte)' ');
        copy.AsSpan().Replace((byte)'\r', (byte)' ');
        return copy;
    }
}
