using System.Text;
using Switchboard.Load.Compare;
using Xunit;

namespace Switchboard.Tests.Compare;

/// <summary>
/// The comparison counts a delivery per marker, wherever the target put it: alone in a plain frame,
/// inside a SignalR invocation, several to one SignalR frame, or split over two reads of one frame.
/// </summary>
[Trait("Category", "unit")]
public sealed class MarkerScannerTests
{
    [Fact]
    public void EveryMessageOfABatchedSignalRFrameIsCounted()
    {
        var frame = Encoding.UTF8.GetString(WireText.Frame(PeerProtocol.SignalR, 111, 1, 32)).Replace("\"Send\"", "\"m\"", StringComparison.Ordinal)
            + Encoding.UTF8.GetString(WireText.Frame(PeerProtocol.SignalR, 222, 2, 32)).Replace("\"Send\"", "\"m\"", StringComparison.Ordinal)
            + "{\"type\":6}\u001e";

        Assert.Equal([(111L, 1L), (222L, 2L)], Scan(frame));
    }

    [Fact]
    public void AMarkerSplitAcrossTwoReadsIsCountedOnce()
    {
        var frame = Encoding.UTF8.GetBytes("@123456#789 xxxx");
        for (var split = 0; split <= frame.Length; split++)
        {
            var sink = new Collected();
            var scanner = default(MarkerScanner);
            scanner.Feed(frame.AsSpan(0, split), ref sink);
            scanner.Feed(frame.AsSpan(split), ref sink);
            scanner.EndOfFrame(ref sink);
            Assert.Equal([(123456L, 789L)], sink.Markers);
        }
    }

    [Fact]
    public void ASequenceThatEndsTheFrameIsComplete()
    {
        Assert.Equal([(5L, 42L)], Scan("@5#42"));
    }

    [Fact]
    public void AProbeIsReportedAsAProbeAndTextWithoutAMarkerAsNothing()
    {
        Assert.Equal([(9L, WireText.Probe)], Scan(Encoding.UTF8.GetString(WireText.Frame(PeerProtocol.Plain, 9, WireText.Probe, 16))));
        Assert.Empty(Scan("{}\u001e{\"type\":6}\u001e user@host #12"));
    }

    private static List<(long, long)> Scan(string frame)
    {
        var sink = new Collected();
        var scanner = default(MarkerScanner);
        scanner.Feed(Encoding.UTF8.GetBytes(frame), ref sink);
        scanner.EndOfFrame(ref sink);
        return sink.Markers;
    }

    private struct Collected : IMarkerSink
    {
        public Collected()
        {
        }

        public List<(long, long)> Markers { get; } = [];

        public readonly void Marker(long timestamp, long sequence) => Markers.Add((timestamp, sequence));
    }
}
