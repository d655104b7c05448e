using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// One member publishes as fast as it can. Its own publish rate is limited (20 per second, burst 20)
/// and the excess is answered with rate_limited; the other members' publications keep their order
/// and arrive promptly. A flooder that never backs off is closed with 4503.
/// </summary>
/// <remarks>
/// Nothing here is timed: the flood goes on while the paced member publishes, and each paced message
/// must reach the observer, in order, within the deadline, so a flood that starved the other members
/// fails the test by holding their messages; the paced latency is printed for whoever reads the
/// output, never asserted (a CPU-starved CI machine is not a starved member: a 1 s bound failed under
/// a soak run at higher priority). Latency figures belong to the load tool and the benchmarks.
/// </remarks>
[Collection(TimingSensitive.Name)]
[Trait("Category", "integration")]
public sealed class FloodTests(ITestOutputHelper output)
{
    private const string Room = "stage";
    private const int PublishesPerSecond = 20;
    private const int PublishBurst = 20;
    private const int PacedMessages = 50;
    private const int MinimumFlood = 5_000;
    private const int MaximumFlood = 300_000;

    // About 17 publishes a second: a modest pace, under the limit the flooder is held to.
    private static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(60);

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> Settings(int strikes) => new()
    {
        ["Switchboard:Limits:PublishesPerSecond"] = PublishesPerSecond.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Limits:PublishBurst"] = PublishBurst.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Limits:RateLimitStrikes"] = strikes.ToString(CultureInfo.InvariantCulture),
        // Every flooded command is answered with an error the flooder must read. A deep queue keeps
        // this test about the rate limit, not about the flooder being a slow reader of its own errors.
        ["Switchboard:Limits:MaxQueuedMessages"] = "1000000",
        ["Switchboard:Limits:MaxQueuedBytes"] = "268435456",
    };

    [Fact]
    public async Task FlooderIsRateLimitedWhileOtherMembersKeepTheirOrderAndLatency()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(Settings(strikes: 1_000_000), logs);
        await using var flooder = await JoinedFlooderAsync(server);
        await using var steady = await JoinedClientAsync(server, "steady");
        await using var observer = await JoinedClientAsync(server, "observer");

        using var stop = new CancellationTokenSource();
        var floodStarted = Stopwatch.GetTimestamp();
        var flood = Task.Run(() => FloodAsync(flooder, stop.Token));
        var deliveries = ReceiveInOrderAsync(observer);
        var sentAt = await PublishPacedAsync(steady);
        var arrivedAt = await deliveries;
        await stop.CancelAsync();
        var flooded = await flood.WaitAsync(Deadline);
        await flooder.SendAndAwaitEndMarkerAsync(Room, "flood-end", Deadline);
        var floodSeconds = Stopwatch.GetElapsedTime(floodStarted).TotalSeconds;

        var latencies = Enumerable.Range(0, PacedMessages).Select(i => Stopwatch.GetElapsedTime(sentAt[i], arrivedAt[i])).Order().ToArray();
        var p50 = latencies[(int)Math.Ceiling(0.50 * PacedMessages) - 1];
        var p99 = latencies[(int)Math.Ceiling(0.99 * PacedMessages) - 1];
        var accepted = await FlooderPublicationsAsync(steady, observer);
        output.WriteLine($"flooded {flooded} publishes in {floodSeconds:F1} s: {accepted} accepted, {flooder.RateLimitedErrors} rate_limited (end marker refused {flooder.EndMarkerRefusals} times); paced latency p50 {p50.TotalMilliseconds:F1} ms, p99 {p99.TotalMilliseconds:F1} ms");

        Assert.Equal((long)flooded, accepted + flooder.RateLimitedErrors);
        Assert.InRange<double>(accepted, PublishBurst, PublishBurst + (PublishesPerSecond * floodSeconds) + 1);
        Assert.False(flooder.Closed.IsCompleted, "the flooder is limited, not disconnected");
        logs.AssertNoErrors();
    }

    [Fact]
    public async Task FlooderThatNeverBacksOffIsClosedWithRateLimitedWhileOthersCarryOn()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(Settings(strikes: 50), logs);
        await using var flooder = await JoinedFlooderAsync(server);
        await using var steady = await JoinedClientAsync(server, "steady");

        using var stop = new CancellationTokenSource();
        var flood = Task.Run(() => FloodAsync(flooder, stop.Token));
        // Fifty strikes take the flooder milliseconds at the rate it sends; the deadline is for a slow machine.
        try
        {
            await flooder.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Reported below, with how far the flood got.
        }

        await stop.CancelAsync();
        var flooded = await flood.WaitAsync(Deadline);
        if (!flooder.Closed.IsCompleted)
        {
            Assert.Fail($"the flooder was still connected after {flooded} publishes and {flooder.RateLimitedErrors} rate_limited errors (Limits:RateLimitStrikes is 50)");
        }

        var status = await flooder.Closed;

        Assert.Equal((WebSocketCloseStatus)CloseCodes.RateLimited, status);
        Assert.False(CloseCodes.ShouldReconnect(CloseCodes.RateLimited));
        await Eventually.TrueAsync(() => server.Registry.Count == 1, "the flooder has left the registry");
        Assert.Equal(["steady"], (await server.Hub.PresenceAsync(Room, CancellationToken.None)).Select(p => p.Key));
        var reply = await steady.RequestAsync($$"""{"op":"publish","room":"{{Room}}","data":"still calm"}""");
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        Assert.Equal("still calm", (await steady.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("from").GetString() == "steady")).GetProperty("data").GetString());
        logs.AssertNoErrors();
    }

    private static async Task<FloodingClient> JoinedFlooderAsync(TestServer server)
    {
        var flooder = await FloodingClient.ConnectAsync(server.Ws("ws?user=flooder"));
        await flooder.SendAsync($$"""{"op":"join","room":"{{Room}}"}""");
        await flooder.SendAndAwaitEndMarkerAsync(Room, "joined", Deadline);
        return flooder;
    }

    private static async Task<ProtocolClient> JoinedClientAsync(TestServer server, string user)
    {
        var client = await server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        return client;
    }

    /// <summary>
    /// Publishes without waiting for any answer, until told to stop (but at least
    /// <see cref="MinimumFlood"/> times) or until the server closes the connection. Returns how many it sent.
    /// </summary>
    private static async Task<int> FloodAsync(FloodingClient flooder, CancellationToken stop)
    {
        var sent = 0;
        try
        {
            while ((sent < MinimumFlood || !stop.IsCancellationRequested) && sent < MaximumFlood && !flooder.Closed.IsCompleted)
            {
                await flooder.SendAsync($$$"""{"op":"publish","room":"{{{Room}}}","data":{"flood":{{{sent}}}}}""");
                sent++;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed by the server mid-flood: what the second test expects.
        }

        return sent;
    }

    /// <summary>Publishes <see cref="PacedMessages"/> messages on a timer, each after the previous one's reply; returns when each was sent.</summary>
    private static async Task<long[]> PublishPacedAsync(ProtocolClient steady)
    {
        var sentAt = new long[PacedMessages];
        using var deadline = new CancellationTokenSource(Deadline);
        using var timer = new PeriodicTimer(PublishInterval);
        for (var n = 0; n < PacedMessages; n++)
        {
            await timer.WaitForNextTickAsync(deadline.Token);
            sentAt[n] = Stopwatch.GetTimestamp();
            var reply = await steady.RequestAsync($$$"""{"op":"publish","room":"{{{Room}}}","data":{"n":{{{n}}}}}""");
            Assert.True(reply.GetProperty("op").GetString() == "reply", $"the steady member's publish {n} was answered with {reply}");
        }

        return sentAt;
    }

    /// <summary>Takes the steady member's messages as they arrive, checking their order; returns when each arrived.</summary>
    private static async Task<long[]> ReceiveInOrderAsync(ProtocolClient observer)
    {
        var arrivedAt = new long[PacedMessages];
        for (var n = 0; n < PacedMessages; n++)
        {
            var message = await observer.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("from").GetString() == "steady", Deadline);
            arrivedAt[n] = Stopwatch.GetTimestamp();
            Assert.Equal(n, message.GetProperty("data").GetProperty("n").GetInt32());
        }

        return arrivedAt;
    }

    /// <summary>
    /// How many of the flooder's publishes were accepted: every publication takes the room's next
    /// offset, so a final one from the steady member, published after the flood was fully handled,
    /// carries the total.
    /// </summary>
    private static async Task<long> FlooderPublicationsAsync(ProtocolClient steady, ProtocolClient observer)
    {
        var reply = await steady.RequestAsync($$"""{"op":"publish","room":"{{Room}}","data":"fence"}""");
        var total = (long)reply.GetProperty("offset").GetUInt64();
        var fence = await observer.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("data").ValueKind == System.Text.Json.JsonValueKind.String);
        Assert.Equal(total, (long)fence.GetProperty("offset").GetUInt64());
        return total - PacedMessages - 1;
    }
}
