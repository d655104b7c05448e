using System.Diagnostics;
using System.Text;
using Switchboard.Redis;
using Xunit;

namespace Switchboard.Tests.Telemetry;

/// <summary>The optional trace context line of a publication on Redis, decoded by <see cref="ChannelMessages"/>.</summary>
[Trait("Category", "unit")]
public sealed class PublicationTraceFormatTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public void APublicationWithoutTheLineDecodesAsBeforeWithNoContext()
    {
        Assert.True(ChannelMessages.TryParsePublication("r", Bytes("7 ep 1700000000000 t alice\n{\"a\":1}"), out var publication, out var epoch));
        Assert.Equal("ep", epoch);
        Assert.Equal(7UL, publication!.Offset);
        Assert.Equal("alice", publication.From);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(publication.Payload.Span));
        Assert.Equal(default, publication.TraceContext);
    }

    [Fact]
    public void TheLineGivesTheContextAndTheBodyStaysUntouched()
    {
        Assert.True(ChannelMessages.TryParsePublication("r", Bytes($"8 ep 1700000000000 bc \n{TraceParent} a=1, b=x y\n\n\u0001"), out var publication, out _));
        Assert.Null(publication!.From);
        Assert.True(publication.IsBinary);
        Assert.Equal("\n\u0001", Encoding.UTF8.GetString(publication.Payload.Span));
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", publication.TraceContext.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", publication.TraceContext.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, publication.TraceContext.TraceFlags);
        Assert.Equal("a=1, b=x y", publication.TraceContext.TraceState);
        Assert.True(publication.TraceContext.IsRemote);
    }

    [Fact]
    public void AContextThatDoesNotParseIsDroppedAndThePublicationDelivered()
    {
        Assert.True(ChannelMessages.TryParsePublication("r", Bytes("9 ep 1700000000000 tc alice\nnot-a-traceparent\n1"), out var publication, out _));
        Assert.Equal("1", Encoding.UTF8.GetString(publication!.Payload.Span));
        Assert.Equal(default, publication.TraceContext);
    }

    [Fact]
    public void AReadThatSkipsTheContextStillSkipsItsLine()
    {
        Assert.True(ChannelMessages.TryParsePublication("r", Bytes($"9 ep 1700000000000 tc alice\n{TraceParent}\n1"), out var publication, out _, withTrace: false));
        Assert.Equal("1", Encoding.UTF8.GetString(publication!.Payload.Span));
        Assert.Equal(default, publication.TraceContext);
    }

    [Fact]
    public void AFlagPromisingALineThatIsMissingIsMalformed()
    {
        Assert.False(ChannelMessages.TryParsePublication("r", Bytes($"9 ep 1700000000000 tc alice\n{TraceParent}"), out _, out _));
        Assert.False(ChannelMessages.TryParsePublication("r", Bytes("9 ep 1700000000000 tx alice\n1"), out _, out _));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
