namespace Switchboard.Protocol;

/// <summary>Helpers for raw JSON text that the server forwards without re-serializing.</summary>
public static class JsonText
{
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
