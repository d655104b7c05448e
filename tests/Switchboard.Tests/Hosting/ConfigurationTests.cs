using System.Net.WebSockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// Configuration is checked before anything listens: a bad value stops start-up with a message that
/// names the key, and the shipped host turns that into exit code 2 without a stack trace.
/// </summary>
[Trait("Category", "integration")]
public sealed class ConfigurationTests
{
    private const int InvalidConfigurationExitCode = 2;
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("Switchboard:Limits:MaxMessageBytes", "10")]
    [InlineData("Switchboard:Broker", "bogus")]
    [InlineData("Switchboard:Heartbeat:IntervalSeconds", "0")]
    [InlineData("Switchboard:Limits:MaxQueuedBytes", "100")]
    [InlineData("Switchboard:History:MaxBytesPerRoom", "-1")]
    [InlineData("Switchboard:History:MaxBytesPerUser", "-1")]
    [InlineData("Switchboard:History:MaxBytesPerNode", "-1")]
    public async Task InvalidOptionStopsStartUpWithAnExceptionNamingTheKey(string key, string value)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(failure.Failures, f => f.StartsWith(key + " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryInvalidKeyIsNamedAtOnce()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Broker"] = "bogus",
            ["Switchboard:History:Size"] = "-1",
        }));

        Assert.Contains(failure.Failures, f => f.StartsWith("Switchboard:Broker ", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith("Switchboard:History:Size ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ShippedHostExitsWithCode2NamingTheKeyWithoutAStackTrace()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["Switchboard__Limits__MaxMessageBytes"] = "10" });

        Assert.Equal(InvalidConfigurationExitCode, await server.WaitForExitAsync(ExitDeadline));

        Assert.Contains("Switchboard:Limits:MaxMessageBytes", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShippedHostExitsWithCode2ForAValueOfTheWrongTypeWithoutAStackTrace()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["Switchboard__Limits__MaxMessageBytes"] = "lots" });

        Assert.Equal(InvalidConfigurationExitCode, await server.WaitForExitAsync(ExitDeadline));

        Assert.Contains("MaxMessageBytes", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedSettingsKeepQueryUserOffExceptInDevelopment()
    {
        var host = FindSourceDirectory("src/Switchboard.Server");

        var production = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(host, "appsettings.json"), optional: false, reloadOnChange: false)
            .Build();
        var development = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(host, "appsettings.json"), optional: false, reloadOnChange: false)
            .AddJsonFile(Path.Combine(host, "appsettings.Development.json"), optional: false, reloadOnChange: false)
            .Build();

        Assert.Equal("False", production["Switchboard:Auth:AllowQueryUser"], ignoreCase: true);
        Assert.Equal("True", development["Switchboard:Auth:AllowQueryUser"], ignoreCase: true);
    }

    [Fact]
    public async Task ShippedHostTakesTheUserFromTheQueryStringInDevelopmentAndWarnsAboutIt()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });
        var address = await server.WaitForListeningAsync();

        await using var client = await ProtocolClient.ConnectAsync(new Uri("ws://" + address.Authority + "/ws?user=alice"));
        var welcome = await client.ExpectAsync("welcome");

        Assert.Equal("alice", welcome.GetProperty("user").GetString());
        Assert.Contains("INSECURE", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShippedHostIgnoresAQueryStringUserInProduction()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        var address = await server.WaitForListeningAsync();

        await using var client = await ProtocolClient.ConnectAsync(new Uri("ws://" + address.Authority + "/ws?user=alice"));

        // Without a token, and with neither query users nor anonymous access configured, there is no way in.
        Assert.Equal((WebSocketCloseStatus)CloseCodes.Unauthorized, await client.WaitForCloseAsync());
        Assert.DoesNotContain("INSECURE", server.Output, StringComparison.Ordinal);
    }

    /// <summary>The directory <paramref name="relative"/> of the source tree the test assembly was built from.</summary>
    private static string FindSourceDirectory(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"no {relative} above {AppContext.BaseDirectory}");
    }
}
