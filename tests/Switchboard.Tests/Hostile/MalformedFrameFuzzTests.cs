using System.Globalization;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Thousands of generated hostile messages (see <see cref="MalformedFrameGenerator"/>) sent over a
/// few connections. Each is answered or ignored with the connection left open, or closes that
/// connection with the documented code (1007 for invalid UTF-8, 1009 for an oversize message) and
/// nothing else; a well-behaved member elsewhere is served throughout, and nothing reaches the log
/// at error level.
/// </summary>
[Trait("Category", "integration")]
public sealed class MalformedFrameFuzzTests(ITestOutputHelper output)
{
    // Change the seed to explore; a failure names the seed and case, which reproduce it exactly.
    private const int Seed = 20_250_603;
    private const int Cases = 5_000;
    private const int Connections = 4;
    private const int CheckEvery = 250;

    // Not a power of two, so that a pooled buffer larger than asked for cannot hide an off-by-one.
    private const int MaxMessageBytes = 6_000;

    private const string FuzzRoom = "fuzz";
    private const string CalmRoom = "calm";

    [Fact]
    public async Task ThousandsOfMalformedFramesAreAnsweredOrClosedAsDocumentedWhileOthersAreServed()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MaxMessageBytes"] = MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
            // A token validator that really runs, so auth and refresh fuzz the JWT handler too.
            ["Switchboard:Auth:Jwt:Secret"] = "fuzz-secret-that-is-long-enough-for-hs256-0123456789",
            ["Switchboard:Limits:RateLimitStrikes"] = "1000000",
        }, logs);
        await using var bystander = await server.ConnectAsync("bystander");
        await bystander.RequestAsync($$"""{"op":"join","room":"{{CalmRoom}}"}""");

        var report = new FuzzReport(Seed);
        var generator = new MalformedFrameGenerator(Seed, MaxMessageBytes, FuzzRoom);
        var workers = Enumerable.Range(0, Connections).Select(i => new FuzzWorker(server, "fuzzer" + i, FuzzRoom, report)).ToArray();
        try
        {
            for (var done = 0; done < Cases && !report.ShouldStop; done += CheckEvery)
            {
                var batch = generator.Next(Math.Min(CheckEvery, Cases - done));
                await Task.WhenAll(workers.Select((worker, w) => worker.RunAsync(batch.Where((_, i) => i % Connections == w))))
                    .WaitAsync(TimeSpan.FromSeconds(60));
                await AssertBystanderIsServedAsync(bystander, checkpoint: done + batch.Count);
            }
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            output.WriteLine(report.Summary());
        }

        Assert.True(report.Failures.Count == 0, $"{report.Failures.Count} case(s) failed (seed {Seed}):{Environment.NewLine}{string.Join(Environment.NewLine, report.Failures)}");
        Assert.Equal(Cases, report.Cases);
        Assert.Equal([0, CloseCodes.InvalidPayload, CloseCodes.MessageTooBig], report.CloseCodes.Keys.Order());
        logs.AssertNoErrors();
        await bystander.CloseAsync();
        await server.AssertNothingRemainsAsync();
    }

    /// <summary>The member of another room publishes and receives its own publication, as if nothing were going on.</summary>
    private static async Task AssertBystanderIsServedAsync(ProtocolClient bystander, int checkpoint)
    {
        var reply = await bystander.RequestAsync($$$"""{"op":"publish","room":"{{{CalmRoom}}}","data":{"checkpoint":{{{checkpoint}}}}}""");
        Assert.True(reply.GetProperty("op").GetString() == "reply", $"the bystander's publish after {checkpoint} cases got {reply} (seed {Seed})");
        var message = await bystander.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("data").GetProperty("checkpoint").GetInt32() == checkpoint);
        Assert.Equal("bystander", message.GetProperty("from").GetString());
    }
}
