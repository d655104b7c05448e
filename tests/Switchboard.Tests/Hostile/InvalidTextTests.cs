using System.Net.WebSockets;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Two kinds of broken text the fuzz test turns up, pinned down one by one: JSON whose string
/// escapes decode to no valid text (a lone UTF-16 surrogate), which must be answered like any other
/// malformed command, and raw bytes that are not UTF-8, which must close with 1007 every time.
/// </summary>
[Trait("Category", "integration")]
public sealed class InvalidTextTests
{
    // Enough connections that a close frame lost even one time in a hundred is caught nearly always.
    // Each connection costs the server's quarter-second linger after a framework close, so 40 keeps the
    // suite quick. Before the linger the lost close showed up 2 to 5 times in 300, so a regression is
    // caught in roughly half the runs; 300 were run by hand with the linger: 1007 every time.
    private const int InvalidUtf8Attempts = 40;

    [Theory]
    [InlineData("""{"op":"join","room":"\ud800","id":1}""")]
    [InlineData("""{"op":"join","room":"lobby\udc00","id":1}""")]
    [InlineData("""{"op":"\ud800","room":"lobby","id":1}""")]
    [InlineData("""{"op":"send","user":"\udfff","data":1,"id":1}""")]
    [InlineData("""{"op":"refresh","token":"\ud800","id":1}""")]
    [InlineData("""{"op":"join","room":"lobby","since":{"offset":1,"epoch":"\ud800"},"id":1}""")]
    public async Task LoneSurrogateEscapeInAStringFieldIsAnsweredWithAnErrorAndTheConnectionStaysOpen(string command)
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(logs: logs);
        await using var client = await server.ConnectAsync("alice");

        await client.SendAsync(command);

        var answered = client.ExpectAsync(m => m.GetProperty("op").GetString() is "reply" or "error");
        await Task.WhenAny(answered, client.Closed.Task).WaitAsync(ProtocolClient.DefaultTimeout);
        if (!answered.IsCompletedSuccessfully)
        {
            Assert.Fail($"the server closed the connection with {await client.WaitForCloseAsync()} instead of answering");
        }

        var answer = await answered;
        Assert.Equal("error", answer.GetProperty("op").GetString());
        Assert.Equal(1, answer.GetProperty("id").GetInt32());
        Assert.Contains(answer.GetProperty("code").GetString(), new[] { ErrorCodes.BadRequest, ErrorCodes.InvalidField, ErrorCodes.InvalidRoom, ErrorCodes.InvalidUser, ErrorCodes.Unauthorized });
        var presence = await client.RequestAsync("""{"op":"presence","room":"lobby"}""");
        Assert.Equal("reply", presence.GetProperty("op").GetString());
        logs.AssertNoErrors();
    }

    [Fact]
    public async Task LoneSurrogateInTheFirstAuthCommandIsRefusedWithUnauthorizedNotAnInternalFailure()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            // No anonymous or ?user= access: a connection without a token must authenticate first.
            ["Switchboard:Auth:AllowAnonymous"] = "false",
            ["Switchboard:Auth:AllowQueryUser"] = "false",
            ["Switchboard:Auth:Jwt:Secret"] = "hostile-secret-that-is-long-enough-for-hs256-0123456789",
        }, logs);
        await using var stranger = await ProtocolClient.ConnectAsync(server.Ws("ws"));

        await stranger.SendAsync("""{"op":"auth","token":"\ud800","id":1}""");

        // Anyone who can reach the port can send this before proving who they are.
        Assert.Equal((WebSocketCloseStatus)CloseCodes.Unauthorized, await stranger.WaitForCloseAsync());
        logs.AssertNoErrors();
    }

    [Fact]
    public async Task InvalidUtf8AlwaysClosesWithInvalidPayloadNeverWithAnAbnormalClosure()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(logs: logs);
        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < InvalidUtf8Attempts; i++)
        {
            await using var client = await server.ConnectAsync("sender" + i);

            // 0xC3 starts a two-byte sequence; 0x28 ('(') cannot continue it.
            await client.SendRawAsync(new byte[] { (byte)'"', 0xC3, 0x28, (byte)'"' }, WebSocketMessageType.Text);

            var status = await client.WaitForCloseAsync();
            var seen = status is null ? "no close frame (1006)" : ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            statuses[seen] = statuses.GetValueOrDefault(seen) + 1;
        }

        // A client that sees 1006 is told by CloseCodes.ShouldReconnect to reconnect, and would resend the same frame.
        Assert.True(
            statuses.Keys.SequenceEqual([CloseCodes.InvalidPayload.ToString(System.Globalization.CultureInfo.InvariantCulture)]),
            $"over {InvalidUtf8Attempts} connections the client saw: {string.Join(", ", statuses.Select(s => $"{s.Key} x{s.Value}"))}");
        await server.WaitUntilEmptyAsync();
        logs.AssertNoErrors();
    }
}
