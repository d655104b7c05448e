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
        while (true)
        {
            var skip = rest.Span.IndexOfAnyExcept(" \t\r\n"u8);
            if (skip < 0)
            {
                yield break;
            }

            rest = rest[skip..];
            var length = MeasureFirstValue(rest.Span);
            if (length <= 0)
            {
                var newline = rest.Span.IndexOf((byte)'\n');
                length = newline < 0 ? rest.Length : newline;
            }

            yield return rest[..length];
            rest = rest[length..];
        }
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
