using Xunit;

namespace Switchboard.Client.Tests.Unit;

[Trait("Category", "unit")]
public sealed class ReconnectBackoffTests
{
    private static readonly BackoffOptions Options = new() { Base = TimeSpan.FromMilliseconds(100), Cap = TimeSpan.FromSeconds(2) };

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(5, 1600)]
    [InlineData(6, 2000)]
    [InlineData(60, 2000)]
    public void CeilingDoublesPerAttemptUpToTheCap(int attempt, int expectedMilliseconds)
    {
        var backoff = new ReconnectBackoff(Options, new FixedRandom(0.5));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), backoff.Ceiling(attempt));
    }

    [Fact]
    public void DelayIsTheRandomFractionOfTheCeilingSoTheFullRangeFromZeroIsUsed()
    {
        Assert.Equal(TimeSpan.Zero, new ReconnectBackoff(Options, new FixedRandom(0.0)).Delay(4));
        Assert.Equal(TimeSpan.FromMilliseconds(200), new ReconnectBackoff(Options, new FixedRandom(0.25)).Delay(4));
        var nearlyOne = new ReconnectBackoff(Options, new FixedRandom(0.999999)).Delay(4);
        Assert.InRange(nearlyOne, TimeSpan.FromMilliseconds(799), TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    public void SeededDelaysStayWithinZeroAndTheCeilingAndSpreadOverIt()
    {
        var backoff = new ReconnectBackoff(Options, new Random(42));
        for (var attempt = 1; attempt <= 12; attempt++)
        {
            var delays = Enumerable.Range(0, 200).Select(_ => backoff.Delay(attempt)).ToList();
            var ceiling = backoff.Ceiling(attempt);
            Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, ceiling));
            // Full jitter: the samples cover the lower and the upper part of the range, not a band around the ceiling.
            Assert.Contains(delays, d => d < ceiling * 0.25);
            Assert.Contains(delays, d => d > ceiling * 0.75);
        }
    }

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;

        protected override double Sample() => value;
    }
}
