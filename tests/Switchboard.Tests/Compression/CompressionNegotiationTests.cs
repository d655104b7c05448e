using System.Net;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Security;
using Xunit;

namespace Switchboard.Tests.Compression;

/// <summary>
/// Whether a real node accepts permessage-deflate: only when <c>Compression:Enabled</c> and the client
/// offers it, on every WebSocket endpoint, and by default without context takeover either way.
/// </summary>
[Trait("Category", "integration")]
public sealed class CompressionNegotiationTests
{
    private const string BrowserOffer = "permessage-deflate; client_max_window_bits";

    [Fact]
    public async Task NoExtensionIsNegotiatedWhileCompressionIsOff()
    {
        await using var server = await TestServer.StartAsync();

        var answer = await OfferAsync(server, "/ws?user=alice", BrowserOffer);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, answer.Status);
        Assert.Null(answer.Extensions);
        Assert.Equal(0, (await MetricsScrape.ReadAsync(server))["switchboard_connections_compressed_total"]);
    }

    [Theory]
    [InlineData("/ws?user=alice")]
    [InlineData("/rooms/lobby")]
    [InlineData("/echo")]
    public async Task EveryEndpointNegotiatesDeflateWithoutContextTakeoverByDefault(string path)
    {
        await using var server = await TestServer.StartAsync(Enabled());

        var answer = await OfferAsync(server, path, BrowserOffer);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, answer.Status);
        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=15", answer.Extensions);
        await Eventually.TrueAsync(async () => (await MetricsScrape.ReadAsync(server))["switchboard_connections_compressed_total"] == 1, "the compressed connection is counted");
    }

    [Fact]
    public async Task ConfiguredContextTakeoverAndWindowAreWhatTheNodeAnswers()
    {
        await using var server = await TestServer.StartAsync(Enabled(new() { ["Switchboard:Compression:ContextTakeover"] = "true", ["Switchboard:Compression:WindowBits"] = "10" }));

        var answer = await OfferAsync(server, "/echo", BrowserOffer);

        Assert.Equal("permessage-deflate; server_max_window_bits=10; client_max_window_bits=10", answer.Extensions);
    }

    [Fact]
    public async Task AClientThatOffersNothingGetsNoExtensionAndIsServedPlain()
    {
        await using var server = await TestServer.StartAsync(Enabled());

        var answer = await OfferAsync(server, "/echo", offer: null);
        using var peer = await DeflatePeer.ConnectAsync(server.BaseUri, "/echo", offer: null);
        var large = new byte[4000];
        Array.Fill(large, (byte)'a');
        await peer.SendTextAsync(large, compressed: false);
        var (compressed, echoed) = await peer.ReadMessageAsync();

        Assert.Null(answer.Extensions);
        Assert.Null(peer.Extensions);
        Assert.False(compressed);
        Assert.Equal(large, echoed);
    }

    internal static Dictionary<string, string?> Enabled(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["Switchboard:Compression:Enabled"] = "true" };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Task<UpgradeAnswer> OfferAsync(TestServer server, string path, string? offer) =>
        UpgradeProbe.SendAsync(server.BaseUri, path, offer is null ? null : new Dictionary<string, string> { ["Sec-WebSocket-Extensions"] = offer });
}
