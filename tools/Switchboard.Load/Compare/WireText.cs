using System.Globalization;
using System.Text;

namespace Switchboard.Load.Compare;

/// <summary>
/// The text every target carries: <c>@&lt;send timestamp&gt;#&lt;sequence&gt; xxx…</c>. Peers forward
/// it unchanged (SignalR inside a JSON invocation), so the receiver finds the marker wherever it sits
/// in the frame, and a frame that holds several messages (SignalR batches) counts each one.
/// </summary>
internal static class WireText
{
    /// <summary>The sequence number of a join probe: counted per client, never as a delivery.</summary>
    public const long Probe = -1;

    /// <summary>SignalR's record separator, after every JSON hub protocol message.</summary>
    public const byte RecordSeparator = 0x1e;

    public static readonly byte[] SignalRHandshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");

    /// <summary>The frame that asks <paramref name="protocol"/>'s server to send the message to the sender's room.</summary>
    public static byte[] Frame(PeerProtocol protocol, long timestamp, long sequence, int payloadBytes)
    {
        var marker = sequence == Probe
            ? string.Create(CultureInfo.InvariantCulture, $"@{timestamp}#p ")
            : string.Create(CultureInfo.InvariantCulture, $"@{timestamp}#{sequence} ");
        var text = marker.PadRight(Math.Max(payloadBytes, marker.Length), 'x');
        return Encoding.UTF8.GetBytes(protocol == PeerProtocol.SignalR
            ? $"{{\"type\":1,\"target\":\"Send\",\"arguments\":[\"{text}\"]}}\u001e"
            : text);
    }
}
