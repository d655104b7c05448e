using System.Diagnostics;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Security;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// The server binary's commands for operators: <c>--help</c> lists them, <c>token</c> mints a token the
/// server accepts, <c>check-config</c> validates as start-up does and never prints a secret.
/// </summary>
[Trait("Category", "integration")]
public sealed class ServerCommandLineTests
{
    private const string Secret = "cli-test-secret-0123456789abcdef-xyz";

    [Fact]
    public async Task HelpListsEveryCommand()
    {
        var run = await RunAsync([], "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("token", run.Output, StringComparison.Ordinal);
        Assert.Contains("check-config", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMintedTokenIsAcceptedByAServerWithTheSameSecretForItsUserAndRooms()
    {
        var run = await RunAsync(new() { ["Switchboard__Auth__Jwt__Secret"] = Secret }, "token", "--user", "alice", "--room", "ops", "--lifetime", "600");
        Assert.Equal(0, run.ExitCode);
        var token = run.StandardOutput.Trim();

        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Secret"] = Secret,
            ["Switchboard:Auth:AllowAnonymous"] = "false",
            ["Switchboard:Auth:AllowQueryUser"] = "false",
            ["Switchboard:Rooms:Rules:0:Pattern"] = "*",
            ["Switchboard:Rooms:Rules:0:Join"] = "granted",
        });
        await using var client = await server.ConnectWithTokenAsync(token, "alice");

        var granted = await client.RequestAsync("""{"op":"join","room":"ops"}""");
        var refused = await client.RequestAsync("""{"op":"join","room":"finance"}""");
        Assert.Equal("reply", granted.GetProperty("op").GetString());
        Assert.Equal("error", refused.GetProperty("op").GetString());
    }

    [Fact]
    public async Task TokenWithoutAConfiguredSecretExplainsAndExitsWith2()
    {
        var run = await RunAsync([], "token", "--user", "alice");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Switchboard:Auth:Jwt:Secret", run.Output, StringComparison.Ordinal);
        Assert.Equal("", run.StandardOutput.Trim());
    }

    [Fact]
    public async Task CheckConfigPrintsTheEffectiveSettingsWithEverySecretMasked()
    {
        var run = await RunAsync(
            new() { ["Switchboard__Auth__Jwt__Secret"] = Secret, ["Switchboard__Api__Keys__0"] = "api-key-that-must-not-show" },
            "check-config", "--Switchboard:Broker", "redis", "--Switchboard:Redis:Configuration", "127.0.0.1:6379,password=redis-password-hidden", "--Switchboard:History:Size", "42");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("\"Size\": 42", run.Output, StringComparison.Ordinal);
        Assert.Contains("password=***", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("api-key-that-must-not-show", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("redis-password-hidden", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfigNamesEveryInvalidKeyAndExitsWith2WithoutAStackTrace()
    {
        var run = await RunAsync(new() { ["Switchboard__Limits__MaxMessageBytes"] = "10" }, "check-config", "--Switchboard:Heartbeat:IntervalSeconds", "0");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Switchboard:Limits:MaxMessageBytes", run.Output, StringComparison.Ordinal);
        Assert.Contains("Switchboard:Heartbeat:IntervalSeconds", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output, StringComparison.Ordinal);
    }

    private static async Task<CommandRun> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Switchboard.Server.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', args)}' did not exit within 30 s");
        }

        return new CommandRun(process.ExitCode, await stdout.WaitAsync(TimeSpan.FromSeconds(10)), await stderr.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private sealed record CommandRun(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Output => StandardOutput + StandardError;
    }
}
