using System.Globalization;
using System.Text;
using System.Text.Json;
using Switchboard.Identity;
using Switchboard.Protocol;
using Switchboard.Tests.Concurrency;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A frame may carry many commands, so a frame of <c>MaxMessageBytes</c> could ask for tens of
/// thousands of parses (each malformed one an exception). The command bucket is charged before a
/// command is split off or parsed, and a frame stops where the bucket runs dry: what one frame costs
/// is bounded by the burst, whatever it holds. Measured on the in-process node: JSON exceptions
/// thrown on the session's behalf, and the answers it was sent.
/// </summary>
[Trait("Category", "unit")]
public sealed class RateBeforeParseTests
{
    private const int Burst = 10;

    [Fact]
    public async Task AFrameOfThirtyTwoThousandMalformedLinesIsParsedOnlyAsFarAsTheBurst()
    {
        await using var node = Node(strikes: 1_000_000);
        var (alice, wire) = node.Open("alice");
        var frame = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\n", 32 * 1024)));

        var exceptions = await SessionProbe.JsonExceptionsDuringAsync(() => node.Protocol.OnMessageAsync(alice, frame, isBinary: false).AsTask());
        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);

        // Before: every line was split and parsed (two exceptions each, 65,536 in all) and answered.
        Assert.True(exceptions <= 2 * (Burst + 1), $"{exceptions} JSON exceptions for one frame");
        Assert.Equal(Burst, sent.Count(m => Code(m) == ErrorCodes.BadRequest));
        Assert.Equal(1, sent.Count(m => Code(m) == ErrorCodes.RateLimited));
    }

    [Fact]
    public async Task AFrameOfBareValuesCostsNoExceptionAtAll()
    {
        await using var node = Node(strikes: 1_000_000);
        var (alice, wire) = node.Open("alice");
        var frame = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("1 ", 32 * 1024)));

        var exceptions = await SessionProbe.JsonExceptionsDuringAsync(() => node.Protocol.OnMessageAsync(alice, frame, isBinary: false).AsTask());
        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);

        // Before: each "1" was a value of its own, and the parser threw for each (not an object).
        Assert.Equal(0, exceptions);
        Assert.Single(sent, m => Code(m) == ErrorCodes.BadRequest);
    }

    [Fact]
    public async Task AFrameLongerThanTheBurstRunsTheBurstAndNamesOnlyTheFirstRefusedCommand()
    {
        await using var node = Node(strikes: 1_000_000);
        var (alice, wire) = node.Open("alice");
        var frame = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, 50).Select(i => $$"""{"op":"presence","room":"lobby","id":{{i}}}""")));

        await node.Protocol.OnMessageAsync(alice, frame, isBinary: false);
        var sent = await SessionProbe.SentUpToNowAsync(alice, wire);

        Assert.Equal(Enumerable.Range(1, Burst), sent.Where(m => m.GetProperty("op").GetString() == "reply").Select(Id));
        var refused = Assert.Single(sent, m => m.GetProperty("op").GetString() == "error");
        Assert.Equal(ErrorCodes.RateLimited, Code(refused));
        Assert.Equal(Burst + 1, Id(refused));
        Assert.False(alice.IsClosing, "40 dropped commands are under the strike limit");
    }

    [Fact]
    public async Task TheDroppedRestOfAFrameCountsTowardsTheStrikesAndClosesWith4503()
    {
        await using var node = Node(strikes: 100);
        var (alice, wire) = node.Open("alice");
        var frame = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, 200).Select(i => $$"""{"op":"presence","room":"lobby","id":{{i}}}""")));

        await node.Protocol.OnMessageAsync(alice, frame, isBinary: false);

        Assert.Equal(CloseCodes.RateLimited, (await wire.Closed.WaitAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task AFirstFrameThatIsNotAuthClosesWith4501AfterOneParse()
    {
        await using var node = Node(strikes: 1_000_000, anonymous: false);
        var wire = new RecordingTransport();
        var frame = """{"op":"join","room":"lobby"}""" + "\n" + string.Concat(Enumerable.Repeat("{\n", 32 * 1024));

        var exceptions = await SessionProbe.JsonExceptionsDuringAsync(async () =>
        {
            var run = node.Sessions.RunAsync(wire, "s1", identity: null, node.Protocol, "/ws", (_, _) => Task.CompletedTask);
            wire.Receive(frame);
            Assert.Equal(CloseCodes.Unauthorized, (await wire.Closed.WaitAsync(TimeSpan.FromSeconds(10))).Code);
            wire.PeerClose();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        });

        Assert.Equal(0, exceptions);
        Assert.DoesNotContain(wire.Drain(), line => line.Contains("\"op\":\"error\"", StringComparison.Ordinal));
    }

    private static InProcessNode Node(int strikes, bool anonymous = true) =>
        new(new ScriptedBroker(), new Dictionary<string, string?>
        {
            ["Switchboard:Limits:CommandBurst"] = Burst.ToString(CultureInfo.InvariantCulture),
            // Next to nothing refills while a test runs.
            ["Switchboard:Limits:CommandsPerSecond"] = "0.001",
            ["Switchboard:Limits:RateLimitStrikes"] = strikes.ToString(CultureInfo.InvariantCulture),
            ["Switchboard:Auth:AllowAnonymous"] = anonymous ? "true" : "false",
            ["Switchboard:Auth:AllowQueryUser"] = "false",
        });

    private static string? Code(JsonElement message) =>
        message.TryGetProperty("code", out var code) ? code.GetString() : null;

    private static int Id(JsonElement message) => message.GetProperty("id").GetInt32();
}
