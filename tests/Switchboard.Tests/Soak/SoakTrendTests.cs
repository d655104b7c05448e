using Switchboard.Load.Soak;
using Xunit;

namespace Switchboard.Tests.Soak;

/// <summary>
/// The soak's per-series verdict: a leak reads <c>grows</c> even when it hides in noise, a heap that
/// breathes between collections reads <c>flat</c>, and what the first 20 % of a run does (connections
/// opening, the heap reaching its working size) is not fitted.
/// </summary>
[Trait("Category", "unit")]
public sealed class SoakTrendTests
{
    private const double MiB = 1048576;

    [Fact]
    public void ASteadyClimbOfTenPerCentAnHourGrows()
    {
        var report = Report(t => (500 * MiB) + (50 * MiB * t / 3600) + Noise(t, 2 * MiB));

        Assert.Equal("grows", report.Trends["rss"]);
        Assert.InRange(report.SlopesPerHour["rss"], 45 * MiB, 55 * MiB);
    }

    [Fact]
    public void AHeapThatSawsBetweenCollectionsIsFlat()
    {
        // Up 60 MiB over four minutes, then a collection gives it back: the same tooth all hour.
        var report = Report(t => (450 * MiB) + (60 * MiB * (t % 240) / 240));

        Assert.Equal("flat", report.Trends["rss"]);
    }

    [Fact]
    public void GrowthWhileConnectionsOpenIsNotFitted()
    {
        var report = Report(t => t < 600 ? 100 * MiB * t / 600 : (100 * MiB) + Noise(t, MiB));

        Assert.Equal("flat", report.Trends["rss"]);
    }

    [Fact]
    public void AThreadCountThatWandersWithinItsOwnScatterIsFlat()
    {
        // Four threads either way around 21: the fitted line moves by about 3 (15 % of the mean) over
        // the steady part, less than twice the scatter around it.
        var report = Report(rss: _ => 500 * MiB, threads: t => 21 + (4 * Math.Sin(t / 400)));

        Assert.Equal("flat", report.Trends["threads"]);
    }

    [Fact]
    public void ACountThatFallsShrinks()
    {
        var report = Report(rss: _ => 500 * MiB, threads: t => 60 - (t / 120));

        Assert.Equal("shrinks", report.Trends["threads"]);
        Assert.Equal("flat", report.Trends["rss"]);
    }

    /// <summary>An hour of samples every 10 s, the other series constant.</summary>
    private static SoakReport Report(Func<double, double> rss, Func<double, double>? threads = null)
    {
        var samples = Enumerable.Range(0, 361)
            .Select(i => i * 10.0)
            .Select(t => new ServerSample(t, rss(t), 400 * MiB, 300, 100, threads?.Invoke(t) ?? 30, 100, 10, 100, 0))
            .ToList();
        return new SoakReport
        {
            Baseline = samples[0] with { Connections = 0 },
            Final = samples[^1] with { Connections = 0 },
            Samples = samples,
            Delivered = 1,
            Duplicates = 0,
            Gaps = 0,
            Reconnects = 0,
            RecoveredMessages = 0,
            Unrecoverable = 0,
            UnexpectedCloses = 0,
            Unreadable = 0,
            HostileStarted = 0,
            HostileClosed = 0,
            Published = 1,
            PublishFailures = 0,
        };
    }

    /// <summary>A repeatable wobble of about <paramref name="amplitude"/>: no random numbers, so the verdict never varies.</summary>
    private static double Noise(double t, double amplitude) => amplitude * Math.Sin(t * 0.7) * Math.Cos(t * 0.13);
}
