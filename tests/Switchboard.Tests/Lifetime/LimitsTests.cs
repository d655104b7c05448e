using System.Net.WebSockets;
using System.Text;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>
/// What a client may send: messages up to <c>Limits:MaxMessageBytes</c> (all fragments together) and
/// only valid UTF-8 in text frames. A breach closes that connection alone, with a code that tells
/// the client not to resend the same thing.
/// </summary>
[Trait("Category", "integration")]
public sealed class LimitsTests : IAsyncLifetime
{
    private const int Limit = 1024;
    private const string Room = "limits";

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Limits:MaxMessageBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MessageOverTheLimitClosesWithMessageTooBigAndOthersCarryOn()
    {
        await using var bystander = await JoinedClientAsync(_server, "bystander");
        await using var offender = await JoinedClientAsync(_server, "offender");

        await offender.SendAsync(Publish(Limit + 1, id: 1));

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await offender.WaitForCloseAsync());
        Assert.False(CloseCodes.ShouldReconnect(CloseCodes.MessageTooBig));
        await Eventually.TrueAsync(() => _server.Registry.Count == 1, "the offender has left the registry");
        var published = await bystander.RequestAsync($$"""{"op":"publish","room":"{{Room}}","data":"still here"}""");
        Assert.Equal(1UL, published.GetProperty("offset").GetUInt64());
        var message = await bystander.ExpectAsync("message");
        Assert.Equal("still here", message.GetProperty("data").GetString());
    }

    [Fact]
    public async Task MessageOfExactlyTheLimitIsAccepted()
    {
        await using var client = await JoinedClientAsync(_server, "alice");

        await client.SendAsync(Publish(Limit, id: 1));

        var reply = await client.ExpectAsync(m => m.GetProperty("op").GetString() == "reply" && m.GetProperty("id").GetInt32() == 1);
        Assert.Equal(1UL, reply.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task MessageSentInSeveralFragmentsUnderTheLimitIsHandledAsOne()
    {
        await using var client = await JoinedClientAsync(_server, "alice");
        var command = Encoding.UTF8.GetBytes(Publish(900, id: 1));

        await client.SendRawAsync(command.AsMemory(0, 300), WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(command.AsMemory(300, 300), WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(command.AsMemory(600), WebSocketMessageType.Text, endOfMessage: true);

        var reply = await client.ExpectAsync(m => m.GetProperty("op").GetString() == "reply" && m.GetProperty("id").GetInt32() == 1);
        Assert.Equal(1UL, reply.GetProperty("offset").GetUInt64());
        var message = await client.ExpectAsync("message");
        Assert.Equal(900 - Publish(0, id: 1).Length, message.GetProperty("data").GetString()!.Length);
    }

    [Fact]
    public async Task FragmentsThatTogetherExceedTheLimitCloseWithMessageTooBig()
    {
        await using var client = await JoinedClientAsync(_server, "alice");
        var command = Encoding.UTF8.GetBytes(Publish(3 * 400, id: 1));

        for (var i = 0; i < 3; i++)
        {
            await client.SendRawAsync(command.AsMemory(i * 400, 400), WebSocketMessageType.Text, endOfMessage: i == 2);
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.WaitForCloseAsync());
    }

    [Fact]
    public async Task MessageJustOverALimitThatIsNoPowerOfTwoClosesWithMessageTooBig()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxMessageBytes"] = "1000" });
        await using var client = await JoinedClientAsync(server, "alice");

        await client.SendAsync(Publish(1001, id: 1));

        var accepted = client.ExpectAsync(m => m.GetProperty("op").GetString() == "reply" && m.GetProperty("id").GetInt32() == 1);
        var closed = client.WaitForCloseAsync();
        await Task.WhenAny(accepted, closed).WaitAsync(ProtocolClient.DefaultTimeout);
        Assert.False(accepted.IsCompletedSuccessfully, "a 1001-byte message was published although Limits:MaxMessageBytes is 1000");
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await closed);
    }

    [Fact]
    public async Task InvalidUtf8InATextFrameClosesWithInvalidPayloadAndOthersCarryOn()
    {
        await using var bystander = await JoinedClientAsync(_server, "bystander");
        await using var offender = await JoinedClientAsync(_server, "offender");

        // 0xC3 starts a two-byte sequence; 0x28 ('(') cannot continue it.
        await offender.SendRawAsync(new byte[] { 0xC3, 0x28 }, WebSocketMessageType.Text);

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await offender.WaitForCloseAsync());
        Assert.False(CloseCodes.ShouldReconnect(CloseCodes.InvalidPayload));
        await Eventually.TrueAsync(() => _server.Registry.Count == 1, "the offender has left the registry");
        var presence = await bystander.RequestAsync($$"""{"op":"presence","room":"{{Room}}"}""");
        Assert.Equal(["bystander"], presence.GetProperty("users").EnumerateObject().Select(u => u.Name));
    }

    private static async Task<ProtocolClient> JoinedClientAsync(TestServer server, string user)
    {
        var client = await server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        return client;
    }

    /// <summary>A publish command of exactly <paramref name="totalBytes"/> UTF-8 bytes (padding its data string), or the bare command when 0.</summary>
    private static string Publish(int totalBytes, int id)
    {
        var bare = $$"""{"op":"publish","room":"{{Room}}","id":{{id}},"data":""}""";
        return totalBytes == 0 ? bare : bare.Insert(bare.Length - 2, new string('x', totalBytes - bare.Length));
    }
}
