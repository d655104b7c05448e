using System.Globalization;
using System.Text;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Frames that break RFC 6455 itself, below anything the protocol parser sees: each ends that
/// connection alone (1002 from the WebSocket layer, 1009 for an oversize message), the node forgets
/// it, and a member elsewhere carries on. Valid fragmentation, by contrast, is reassembled.
/// </summary>
[Trait("Category", "integration")]
public sealed class FramingViolationTests : IAsyncLifetime, IDisposable
{
    private const int MaxMessageBytes = 4096;
    private const int ProtocolError = 1002;

    private readonly CapturingLoggerProvider _logs = new();
    private TestServer _server = null!;
    private ProtocolClient _bystander = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxMessageBytes"] = MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
            // A peer whose oversize frame never ends cannot send a close frame (its bytes would be
            // payload), so the server gives up waiting after this long.
            ["Switchboard:Limits:CloseTimeoutSeconds"] = "1",
        }, _logs);
        _bystander = await _server.ConnectAsync("bystander");
        await _bystander.RequestAsync("""{"op":"join","room":"calm"}""");
    }

    public async Task DisposeAsync()
    {
        await _bystander.DisposeAsync();
        await _server.DisposeAsync();
    }

    public void Dispose() => _logs.Dispose();

    [Theory]
    [InlineData("a continuation frame with no message to continue")]
    [InlineData("a new text frame inside an unfinished message")]
    [InlineData("an unmasked frame")]
    [InlineData("a reserved bit set without an extension")]
    [InlineData("a reserved data opcode")]
    [InlineData("a reserved control opcode")]
    [InlineData("a fragmented ping")]
    [InlineData("a ping longer than 125 bytes")]
    [InlineData("a close frame with a one-byte payload")]
    [InlineData("a close frame with a code that must not be sent")]
    [InlineData("a close reason that is not UTF-8")]
    [InlineData("a length with its top bit set")]
    public async Task FramingViolationEndsOnlyThatConnection(string violation)
    {
        using var peer = await JoinedPeerAsync();

        await peer.SendAsync(Frames(violation));

        var code = await peer.ReadUntilCloseFrameAsync();
        // The WebSocket layer answers with 1002 (protocol error). Dropping the connection without a
        // close frame is tolerated here: InvalidTextTests pins the server's lost close frames down.
        Assert.True(code is null or ProtocolError, $"after {violation} the server closed with {code}");
        await AssertOnlyTheBystanderRemainsAndIsServedAsync();
    }

    [Fact]
    public async Task FrameDeclaringAGigabyteIsClosedWithMessageTooBigOnceTheLimitIsPassed()
    {
        using var peer = await JoinedPeerAsync();

        var payload = Encoding.ASCII.GetBytes(new string('x', MaxMessageBytes + 1));
        var frame = RawFrameClient.Frame(0x81, payload, declaredLength: 1UL << 30);
        await peer.SendAsync(frame);

        Assert.Equal(CloseCodes.MessageTooBig, await peer.ReadUntilCloseFrameAsync());
        await AssertOnlyTheBystanderRemainsAndIsServedAsync();
    }

    [Fact]
    public async Task CommandSentOneByteAFrameWithPingsAndEmptyFragmentsBetweenIsHandledAsOne()
    {
        using var peer = await JoinedPeerAsync();
        var command = Encoding.UTF8.GetBytes("{\"op\":\"publish\",\"room\":\"calm\",\"data\":\"caf\u00e9 \u4e2d \ud83d\ude00\",\"id\":2}");

        // Every byte its own frame, so that the cuts fall inside each multi-byte character; a ping
        // (which may come between fragments) and an empty fragment after every byte.
        var frames = new List<byte>();
        for (var i = 0; i < command.Length; i++)
        {
            frames.AddRange(RawFrameClient.Frame(i == 0 ? (byte)0x01 : (byte)0x00, command.AsSpan(i, 1)));
            frames.AddRange(RawFrameClient.Frame(0x89, "p"u8));
            frames.AddRange(RawFrameClient.Frame(0x00, []));
        }

        frames.AddRange(RawFrameClient.Frame(0x80, []));
        await peer.SendAsync([.. frames]);

        var message = await _bystander.ExpectAsync("message");
        Assert.Equal("caf\u00e9 \u4e2d \ud83d\ude00", message.GetProperty("data").GetString());
        Assert.Equal("fragments", message.GetProperty("from").GetString());
        _logs.AssertNoErrors();
    }

    [Fact]
    public async Task FragmentsThatTogetherPassTheLimitCloseWithMessageTooBig()
    {
        using var peer = await JoinedPeerAsync();
        const int Fragment = 100;

        var frames = new List<byte>();
        for (var sent = 0; sent <= MaxMessageBytes; sent += Fragment)
        {
            frames.AddRange(RawFrameClient.Frame(sent == 0 ? (byte)0x01 : (byte)0x00, Encoding.ASCII.GetBytes(new string('y', Fragment))));
        }

        await peer.SendAsync([.. frames]);

        Assert.Equal(CloseCodes.MessageTooBig, await peer.ReadUntilCloseFrameAsync());
        await AssertOnlyTheBystanderRemainsAndIsServedAsync();
    }

    private static byte[] Frames(string violation)
    {
        var json = """{"op":"presence","room":"calm","id":1}"""u8;
        return violation switch
        {
            "a continuation frame with no message to continue" => RawFrameClient.Frame(0x80, json),
            "a new text frame inside an unfinished message" => [.. RawFrameClient.Frame(0x01, json[..5]), .. RawFrameClient.Frame(0x81, json[5..])],
            "an unmasked frame" => RawFrameClient.Frame(0x81, json, masked: false),
            "a reserved bit set without an extension" => RawFrameClient.Frame(0xC1, json),
            "a reserved data opcode" => RawFrameClient.Frame(0x83, json),
            "a reserved control opcode" => RawFrameClient.Frame(0x8B, []),
            "a fragmented ping" => RawFrameClient.Frame(0x09, "p"u8),
            "a ping longer than 125 bytes" => RawFrameClient.Frame(0x89, new byte[126]),
            "a close frame with a one-byte payload" => RawFrameClient.Frame(0x88, [0x03]),
            "a close frame with a code that must not be sent" => RawFrameClient.Frame(0x88, [0x03, 0xED]),
            "a close reason that is not UTF-8" => RawFrameClient.Frame(0x88, [0x03, 0xE8, 0xC3, 0x28]),
            "a length with its top bit set" => RawFrameClient.Frame(0x81, json, declaredLength: 1UL << 63),
            _ => throw new ArgumentOutOfRangeException(nameof(violation), violation, "no such case"),
        };
    }

    private async Task<RawFrameClient> JoinedPeerAsync()
    {
        var peer = await RawFrameClient.ConnectAsync(_server.BaseUri, "/ws?user=fragments");
        await peer.SendAsync(RawFrameClient.Frame(0x81, """{"op":"join","room":"calm"}"""u8));
        await Eventually.TrueAsync(() => _server.Hub.Rooms().Any(r => r.Room == "calm" && r.Connections == 2), "the raw peer has joined");
        return peer;
    }

    private async Task AssertOnlyTheBystanderRemainsAndIsServedAsync()
    {
        await Eventually.TrueAsync(() => _server.Registry.Count == 1, "the offending connection has left the registry");
        Assert.Equal(["bystander"], (await _server.Hub.PresenceAsync("calm", CancellationToken.None)).Select(p => p.Key));
        var reply = await _bystander.RequestAsync("""{"op":"publish","room":"calm","data":"unbothered"}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal("unbothered", (await _bystander.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("from").GetString() == "bystander")).GetProperty("data").GetString());
        _logs.AssertNoErrors();
    }
}
