using Microsoft.Extensions.Options;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// A security option the server cannot honour stops it at start-up, naming the key, rather than
/// running with a weaker setting than the operator asked for.
/// </summary>
[Trait("Category", "integration")]
public sealed class SecurityOptionsValidationTests
{
    public static TheoryData<string, string, string> BadValues() => new()
    {
        { "Switchboard:Auth:Jwt:Secret", "only-31-bytes-of-secret-here-xx", "Switchboard:Auth:Jwt:Secret" },
        { "Switchboard:Auth:Jwt:PublicKeyFile", "/nonexistent/switchboard-key.pem", "Switchboard:Auth:Jwt:PublicKeyFile" },
        { "Switchboard:Auth:Jwt:ClockSkewSeconds", "-1", "Switchboard:Auth:Jwt:ClockSkewSeconds" },
        { "Switchboard:Auth:Jwt:ClockSkewSeconds", "601", "Switchboard:Auth:Jwt:ClockSkewSeconds" },
        { "Switchboard:Auth:Jwt:RoomsClaim", " ", "Switchboard:Auth:Jwt:RoomsClaim" },
        { "Switchboard:Auth:FirstMessageTimeoutSeconds", "0", "Switchboard:Auth:FirstMessageTimeoutSeconds" },
        { "Switchboard:Api:Keys:0", "fifteen-chars-x", "Switchboard:Api:Keys" },
        { "Switchboard:AllowedOrigins:0", "app.example.com", "Switchboard:AllowedOrigins" },
        { "Switchboard:AllowedOrigins:0", "localhost:3000", "Switchboard:AllowedOrigins" },
        { "Switchboard:PublicOrigin", "*", "Switchboard:PublicOrigin" },
        { "Switchboard:PublicOrigin", "https://chat.example.com/app", "Switchboard:PublicOrigin" },
        { "Switchboard:TrustedProxies:0", "proxy.internal", "Switchboard:TrustedProxies" },
        { "Switchboard:TrustedProxies:0", "10.0.0.0/33", "Switchboard:TrustedProxies" },
        { "Switchboard:Rooms:Rules:0:Join", "everyone", "Switchboard:Rooms:Rules:0:Join" },
        { "Switchboard:Rooms:Rules:0:Publish", "anyone", "Switchboard:Rooms:Rules:0:Publish" },
        { "Switchboard:Rooms:Rules:0:Pattern", "bad pattern*", "Switchboard:Rooms:Rules:0:Pattern" },
        { "Switchboard:Limits:PublishesPerSecond", "0", "Switchboard:Limits:PublishesPerSecond" },
        { "Switchboard:Limits:PublishBurst", "0", "Switchboard:Limits:PublishBurst" },
        { "Switchboard:Limits:CommandsPerSecond", "0", "Switchboard:Limits:CommandsPerSecond" },
        { "Switchboard:Limits:CommandBurst", "0", "Switchboard:Limits:CommandBurst" },
        { "Switchboard:Limits:RateLimitStrikes", "0", "Switchboard:Limits:RateLimitStrikes" },
        { "Switchboard:Limits:MaxConnectionsPerUser", "0", "Switchboard:Limits:MaxConnectionsPerUser" },
        { "Switchboard:Limits:MaxConnectionsPerIp", "0", "Switchboard:Limits:MaxConnectionsPerIp" },
        { "Switchboard:Limits:MaxPlainRoomMembers", "0", "Switchboard:Limits:MaxPlainRoomMembers" },
        { "Switchboard:Limits:AcceptsPerSecond", "0", "Switchboard:Limits:AcceptsPerSecond" },
        { "Switchboard:Limits:AcceptsPerSecondPerIp", "0", "Switchboard:Limits:AcceptsPerSecondPerIp" },
        { "Switchboard:Limits:AcceptBurstPerIp", "0", "Switchboard:Limits:AcceptBurstPerIp" },
        { "Switchboard:Limits:MaxAnonymousConnectionsPerIp", "0", "Switchboard:Limits:MaxAnonymousConnectionsPerIp" },
        { "Switchboard:Limits:HandshakeTimeoutSeconds", "0", "Switchboard:Limits:HandshakeTimeoutSeconds" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task ABadSecurityValueFailsStartUpNamingTheKey(string key, string value, string named)
    {
        var failure = await StartupFailureAsync(new Dictionary<string, string?> { [key] = value });

        Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecretAndAPublicKeyFileTogetherFailStartUp()
    {
        using var keyPair = TokenFactory.Rs256();

        var failure = await StartupFailureAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Secret"] = TokenFactory.DefaultSecret,
            ["Switchboard:Auth:Jwt:PublicKeyFile"] = keyPair.PublicKeyFile,
        });

        Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains("Switchboard:Auth:Jwt:Secret", failure.Message, StringComparison.Ordinal);
        Assert.Contains("PublicKeyFile", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APublicKeyFileThatHoldsNoKeyFailsStartUp()
    {
        var path = Path.Combine(Path.GetTempPath(), $"switchboard-test-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(path, "this is not a PEM key\n");
        try
        {
            var failure = await StartupFailureAsync(new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:PublicKeyFile"] = path });

            Assert.Contains("PublicKeyFile", failure.Message + failure.InnerException?.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("rsa1024", "1024-bit RSA key")]
    [InlineData("p384", "ES256 needs P-256")]
    public async Task AWeakOrUnusablePublicKeyFailsStartUpSayingWhy(string kind, string reason)
    {
        var path = Path.Combine(Path.GetTempPath(), $"switchboard-test-{Guid.NewGuid():N}.pem");
        using (System.Security.Cryptography.AsymmetricAlgorithm key = kind == "rsa1024"
            ? System.Security.Cryptography.RSA.Create(1024)
            : System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384))
        {
            await File.WriteAllTextAsync(path, key.ExportSubjectPublicKeyInfoPem());
        }

        try
        {
            var failure = await StartupFailureAsync(new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:PublicKeyFile"] = path });

            Assert.Contains("Switchboard:Auth:Jwt:PublicKeyFile", failure.Message, StringComparison.Ordinal);
            Assert.Contains(reason, failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task TheSmallestValidValuesStartTheServer()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Secret"] = new string('s', 32),
            ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = "0",
            ["Switchboard:Api:Keys:0"] = new string('k', 16),
            ["Switchboard:AllowedOrigins:0"] = "*",
            ["Switchboard:TrustedProxies:0"] = "::1",
            ["Switchboard:TrustedProxies:1"] = "10.0.0.0/8",
            ["Switchboard:Rooms:Rules:0:Pattern"] = "*",
            ["Switchboard:Limits:AcceptsPerSecond"] = "1",
            ["Switchboard:Limits:RateLimitStrikes"] = "1",
        });

        Assert.Equal("{\"status\":\"ok\"}", await server.Http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
    }

    /// <summary>Starts a node that is expected not to start; if it does, it is stopped and the test fails saying what it served.</summary>
    private static async Task<Exception> StartupFailureAsync(Dictionary<string, string?> settings)
    {
        TestServer server;
        try
        {
            server = await TestServer.StartAsync(settings);
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException or IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return ex;
        }

        await using (server)
        {
            var answer = await UpgradeProbe.SendAsync(server.BaseUri, "/ws");
            throw new Xunit.Sdk.XunitException($"the server started with {string.Join(", ", settings.Select(s => s.Key + "=" + s.Value))}; an upgrade then got {(int)answer.Status}");
        }
    }
}
