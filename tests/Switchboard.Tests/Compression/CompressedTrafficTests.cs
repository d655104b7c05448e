using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Compression;

/// <summary>
/// Traffic over negotiated permessage-deflate: messages round-trip on every endpoint, the node leaves
/// messages under <c>Compression:MinMessageBytes</c> uncompressed (RSV1 clear) and deflates the rest,
/// and <c>Limits:MaxMessageBytes</c> counts inflated bytes, so a small compressed bomb is closed with 1009.
/// </summary>
[Trait("Category", "integration")]
public sealed class CompressedTrafficTests : IAsyncLifetime
{
    private const int MaxMessageBytes = 4096;
    private const int MinMessageBytes = 256;

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(CompressionNegotiationTests.Enabled(new()
    {
        ["Switchboard:Limits:MaxMessageBytes"] = MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Compression:MinMessageBytes"] = MinMessageBytes.ToString(CultureInfo.InvariantCulture),
    }));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task EchoSendsSmallMessagesPlainAndLargeOnesDeflated()
    {
        using var peer = await DeflatePeer.ConnectAsync(_server.BaseUri, "/echo");
        var small = Encoding.UTF8.GetBytes(new string('s', MinMessageBytes - 1));
        var large = Encoding.UTF8.GetBytes(ChatJson(MinMessageBytes * 4));

        await peer.SendTextAsync(small, compressed: true);
        var (smallCompressed, smallEcho) = await peer.ReadMessageAsync();
        await peer.SendTextAsync(large, compressed: false);
        var (largeCompressed, largeEcho) = await peer.ReadMessageAsync();

        Assert.NotNull(peer.Extensions);
        Assert.False(smallCompressed, "a message under the minimum must go uncompressed");
        Assert.Equal(small, smallEcho);
        Assert.True(largeCompressed, "a message at or over the minimum must be deflated");
        Assert.Equal(large, largeEcho);
    }

    [Fact]
    public async Task ProtocolEndpointDeflatesALargePublicationButNotTheWelcome()
    {
        using var peer = await DeflatePeer.ConnectAsync(_server.BaseUri, "/ws?user=alice");
        var (welcomeCompressed, welcome) = await peer.ReadMessageAsync();
        await peer.SendTextAsync(Encoding.UTF8.GetBytes("""{"op":"join","room":"big","id":1}"""), compressed: true);
        await ReadUntilAsync(peer, line => line.Contains("\"id\":1", StringComparison.Ordinal));
        var text = new string('t', 1000);

        await peer.SendTextAsync(Encoding.UTF8.GetBytes($$$"""{"op":"publish","room":"big","data":{"text":"{{{text}}}"}}"""), compressed: true);
        var (compressed, message) = await ReadUntilAsync(peer, line => line.Contains("\"op\":\"message\"", StringComparison.Ordinal));

        Assert.StartsWith("{\"op\":\"welcome\"", Encoding.UTF8.GetString(welcome), StringComparison.Ordinal);
        Assert.True(welcome.Length < MinMessageBytes, $"the welcome is {welcome.Length} bytes; this test needs it under the minimum");
        Assert.False(welcomeCompressed);
        Assert.True(compressed);
        Assert.Contains(text, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientWebSocketWithDeflateRoundTripsOnEveryEndpoint(bool contextTakeover)
    {
        await using var server = contextTakeover
            ? await TestServer.StartAsync(CompressionNegotiationTests.Enabled(new() { ["Switchboard:Compression:ContextTakeover"] = "true", ["Switchboard:Compression:WindowBits"] = "10" }))
            : null;
        var node = server ?? _server;
        Action<ClientWebSocketOptions> deflate = options => options.DangerousDeflateOptions = new WebSocketDeflateOptions();

        await using var echo = await ProtocolClient.ConnectAsync(node.Ws("echo"), deflate);
        await using var roomA = await ProtocolClient.ConnectAsync(node.Ws("rooms/lobby"), deflate);
        await using var roomB = await ProtocolClient.ConnectAsync(node.Ws("rooms/lobby"), deflate);
        await using var protocol = await ProtocolClient.ConnectAsync(node.Ws("ws?user=carol"), deflate);
        await protocol.ExpectAsync("welcome");
        Assert.True((await protocol.RequestAsync("""{"op":"join","room":"r"}""")).GetProperty("op").GetString() == "reply");

        // Several similar messages in a row: with context takeover each one refers back to the last.
        for (var i = 0; i < 3; i++)
        {
            var chat = ChatJson(1500 + i);
            await echo.SendAsync(chat);
            Assert.Equal(chat, (await echo.NextAsync()).GetRawText());
            await roomA.SendAsync(chat);
            Assert.Equal(chat, (await roomB.NextAsync()).GetRawText());
            await protocol.SendAsync($$$"""{"op":"publish","room":"r","data":{{{chat}}}}""");
            var delivered = await protocol.ExpectAsync("message");
            Assert.Equal(chat, delivered.GetProperty("data").GetRawText());
        }

        await Eventually.TrueAsync(async () => (await MetricsScrape.ReadAsync(node))["switchboard_connections_compressed_total"] == 4, "all four connections negotiated deflate");
    }

    [Fact]
    public async Task ACompressedMessageIsMeasuredInflatedSoABombIsClosedWithMessageTooBig()
    {
        using var atLimit = await DeflatePeer.ConnectAsync(_server.BaseUri, "/echo");
        using var bomb = await DeflatePeer.ConnectAsync(_server.BaseUri, "/echo");
        var exactly = new byte[MaxMessageBytes];
        Array.Fill(exactly, (byte)'a');
        var inflated = new byte[MaxMessageBytes * 64];
        Array.Fill(inflated, (byte)'a');
        Assert.True(PerMessageDeflate.Compress(inflated).Length < MaxMessageBytes / 4, "the bomb must be small on the wire");

        await atLimit.SendTextAsync(exactly, compressed: true);
        var (_, echoed) = await atLimit.ReadMessageAsync();
        await bomb.SendTextAsync(inflated, compressed: true);

        Assert.Equal(exactly, echoed);
        Assert.Equal(CloseCodes.MessageTooBig, await bomb.ReadUntilCloseFrameAsync());
    }

    /// <summary>A chat publication's data as a client would send it, about <paramref name="bytes"/> long.</summary>
    private static string ChatJson(int bytes)
    {
        var words = string.Join(' ', Enumerable.Range(0, bytes / 6).Select(i => (i % 7) switch { 0 => "hello", 1 => "there", 2 => "room", 3 => "see", 4 => "you", 5 => "at", _ => "noon" }));
        return JsonSerializer.Serialize(new { text = words[..Math.Min(words.Length, bytes - 40)], user = "alice", ts = 1764460800000 });
    }

    private static async Task<(bool Compressed, string Line)> ReadUntilAsync(DeflatePeer peer, Func<string, bool> match)
    {
        while (true)
        {
            var (compressed, message) = await peer.ReadMessageAsync();
            if (Encoding.UTF8.GetString(message).Split('\n').FirstOrDefault(match) is { } line)
            {
                return (compressed, line);
            }
        }
    }
}
