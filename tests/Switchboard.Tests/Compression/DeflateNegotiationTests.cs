using Microsoft.Extensions.Primitives;
using Switchboard.Options;
using Switchboard.Transports;
using Xunit;

namespace Switchboard.Tests.Compression;

/// <summary>
/// The server's answer to permessage-deflate offers (RFC 7692), without sockets: what is accepted,
/// what is declined, and the window and context settings the node's socket gets.
/// </summary>
[Trait("Category", "unit")]
public sealed class DeflateNegotiationTests
{
    private static readonly CompressionOptions Defaults = new() { Enabled = true };

    [Fact]
    public void ABareOfferIsAnsweredWithoutContextTakeoverEitherWay()
    {
        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate"), Defaults, out var deflate, out var response));

        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover", response);
        Assert.False(deflate.ServerContextTakeover);
        Assert.False(deflate.ClientContextTakeover);
        Assert.Equal(15, deflate.ServerMaxWindowBits);
        Assert.Equal(15, deflate.ClientMaxWindowBits);
    }

    [Fact]
    public void TheBrowsersOfferGetsTheClientWindowAnswered()
    {
        var options = new CompressionOptions { Enabled = true, WindowBits = 12 };

        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate; client_max_window_bits"), options, out var deflate, out var response));

        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12", response);
        Assert.Equal(12, deflate.ServerMaxWindowBits);
        Assert.Equal(12, deflate.ClientMaxWindowBits);
    }

    [Fact]
    public void WithContextTakeoverConfiguredTheClientMayStillTurnItOff()
    {
        var options = new CompressionOptions { Enabled = true, ContextTakeover = true };

        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate"), options, out var kept, out var keptResponse));
        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate; server_no_context_takeover"), options, out var dropped, out var droppedResponse));

        Assert.Equal("permessage-deflate", keptResponse);
        Assert.True(kept.ServerContextTakeover);
        Assert.True(kept.ClientContextTakeover);
        Assert.Equal("permessage-deflate; server_no_context_takeover", droppedResponse);
        Assert.False(dropped.ServerContextTakeover);
        Assert.True(dropped.ClientContextTakeover);
    }

    [Fact]
    public void AClientsServerWindowCapIsHonouredAndNeverRaised()
    {
        var options = new CompressionOptions { Enabled = true, WindowBits = 11 };

        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate; server_max_window_bits=10"), options, out var lower, out var lowerResponse));
        Assert.True(DeflateNegotiation.TryNegotiate(new StringValues("permessage-deflate; server_max_window_bits=\"14\""), options, out var higher, out _));

        Assert.Equal(10, lower.ServerMaxWindowBits);
        Assert.Contains("server_max_window_bits=10", lowerResponse, StringComparison.Ordinal);
        Assert.Equal(11, higher.ServerMaxWindowBits);
    }

    [Theory]
    [InlineData("permessage-deflate; x_webkit_unknown")]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits")]
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; server_max_window_bits=08")]
    [InlineData("permessage-deflate; server_max_window_bits=8")]
    [InlineData("permessage-deflate; client_max_window_bits=7")]
    [InlineData("permessage-deflate; client_no_context_takeover=1")]
    [InlineData("x-webkit-deflate-frame")]
    [InlineData("")]
    public void AnOfferTheNodeCannotHonourIsDeclined(string offer)
    {
        Assert.False(DeflateNegotiation.TryNegotiate(new StringValues(offer), Defaults, out _, out _));
    }

    [Fact]
    public void TheFirstAcceptableOfferWinsAcrossCommasAndHeaders()
    {
        var offers = new StringValues(["x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=9, permessage-deflate"]);

        Assert.True(DeflateNegotiation.TryNegotiate(offers, Defaults, out var deflate, out _));

        Assert.Equal(9, deflate.ServerMaxWindowBits);
    }
}
