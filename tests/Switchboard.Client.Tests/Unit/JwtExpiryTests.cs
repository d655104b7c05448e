using Switchboard.Client.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Client.Tests.Unit;

[Trait("Category", "unit")]
public sealed class JwtExpiryTests
{
    [Fact]
    public void ExpIsReadFromTheTokenPayload()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        var exp = JwtExpiry.Read(Tokens.Create("alice", TimeSpan.FromMinutes(10)));

        Assert.NotNull(exp);
        Assert.InRange(exp.Value.ToUnixTimeSeconds(), before, before + 1);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig")]
    public void ATokenWithoutAReadableExpHasNoRefreshTime(string token) => Assert.Null(JwtExpiry.Read(token));

    [Theory]
    [InlineData(3600, 3540)] // an hour: a minute early
    [InlineData(10, 8)] // ten seconds: a fifth early
    [InlineData(3, 2)] // short: at least a second early
    [InlineData(0, 0)] // already due
    public void RefreshComesAFifthOfTheRemainingLifeEarlyBetweenOneSecondAndAMinute(int remainingSeconds, int expectedDelaySeconds)
    {
        var now = DateTimeOffset.UtcNow;

        Assert.Equal(TimeSpan.FromSeconds(expectedDelaySeconds), JwtExpiry.RefreshDelay(now.AddSeconds(remainingSeconds), now));
    }
}
