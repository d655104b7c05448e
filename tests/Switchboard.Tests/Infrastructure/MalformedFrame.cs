using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// One generated hostile message: its bytes, its frame type, where it is split into fragments, and
/// what the server must do with it.
/// </summary>
/// <param name="Index">Its position in the generated sequence, to reproduce it from the seed.</param>
/// <param name="Category">What kind of input it is.</param>
/// <param name="Type">Text or binary.</param>
/// <param name="Payload">The whole message.</param>
/// <param name="FragmentEnds">Where each fragment ends (exclusive), ascending; the last is <c>Payload.Length</c>.</param>
/// <param name="ExpectedCloseCode">
/// The close code the server must answer with (1007 for invalid UTF-8 in a text message, 1009 for a
/// message over the limit), or null when the connection must stay open.
/// </param>
public sealed record MalformedFrame(int Index, MalformedFrameCategory Category, WebSocketMessageType Type, byte[] Payload, int[] FragmentEnds, int? ExpectedCloseCode)
{
    /// <summary>The fragments in order.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Fragments()
    {
        var start = 0;
        foreach (var end in FragmentEnds)
        {
            yield return Payload.AsMemory(start, end - start);
            start = end;
        }
    }

    /// <summary>A short, printable description for failure messages.</summary>
    public override string ToString()
    {
        const int Shown = 160;
        var preview = Type == WebSocketMessageType.Text && System.Text.Unicode.Utf8.IsValid(Payload)
            ? Encoding.UTF8.GetString(Payload, 0, Math.Min(Payload.Length, Shown))
            : Convert.ToHexString(Payload, 0, Math.Min(Payload.Length, Shown / 2));
        return $"case {Index} ({Category}, {Type}, {Payload.Length} bytes in {FragmentEnds.Length} fragment(s), expect {ExpectedCloseCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no close"}): {preview}{(Payload.Length > Shown ? "..." : "")}";
    }
}
