using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// A public key without Issuer and Audience accepts a token its identity provider minted for any other
/// service: the node says so at start-up, and is quiet once both are set.
/// </summary>
[Trait("Category", "integration")]
public sealed class StartupWarningTests
{
    private const int UnboundPublicKey = 2005;

    [Theory]
    [InlineData(null, null, true)]
    [InlineData("https://idp.example.com", null, true)]
    [InlineData(null, "switchboard", true)]
    [InlineData("https://idp.example.com", "switchboard", false)]
    public async Task APublicKeyWithoutIssuerAndAudienceIsWarnedAbout(string? issuer, string? audience, bool warned)
    {
        using var tokens = TokenFactory.Rs256();
        var logs = new CapturingLoggerProvider();
        var settings = new Dictionary<string, string?>(tokens.ServerSettings)
        {
            ["Switchboard:Auth:Jwt:Issuer"] = issuer,
            ["Switchboard:Auth:Jwt:Audience"] = audience,
        };

        await using (await TestServer.StartAsync(settings, logs))
        {
            Assert.Equal(warned, logs.Entries.Any(e => e.EventId.Id == UnboundPublicKey));
        }
    }
}
