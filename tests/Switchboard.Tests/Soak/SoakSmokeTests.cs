using System.Diagnostics;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Soak;

/// <summary>
/// A one-minute soak of the shipped host with the load tool's <c>soak</c> command: members reading in
/// rooms, a backend publishing, churn with recovery, floods, garbage and stalled readers. Its
/// assertions are counts, never times: every member got every offset once, and after everyone left
/// the server holds as many connections, rooms, users and sockets as before anyone came.
/// </summary>
[Trait("Category", "integration")]
public sealed class SoakSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AMinuteOfMixedTrafficLeavesNothingBehind()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });
        var address = await server.WaitForListeningAsync();
        var report = Path.Combine(Path.GetTempPath(), $"switchboard-soak-{Guid.NewGuid():N}.json");
        try
        {
            var exit = await RunSoakAsync(
                "--url", $"ws://{address.Authority}/ws", "--server-pid", server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--clients", "200", "--rooms", "20", "--rate", "50", "--duration", "60", "--churn-percent", "30",
                "--hostile-percent", "3", "--sample-seconds", "5", "--json-out", report);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var root = json.RootElement;
            Assert.Equal(0, root.GetProperty("duplicates").GetInt64());
            Assert.Equal(0, root.GetProperty("gaps").GetInt64());
            Assert.True(root.GetProperty("delivered").GetInt64() > 0, "members received publications");
            Assert.True(root.GetProperty("reconnects").GetInt64() > 0, "members were churned");
            Assert.True(root.GetProperty("hostileClosed").GetInt64() > 0, "the server cut hostile clients off");
            // Every member the server closed is accounted for by how it ended (its close code, or how it dropped).
            Assert.Equal(root.GetProperty("unexpectedCloses").GetInt64(), root.GetProperty("unexpectedCloseReasons").EnumerateObject().Sum(r => r.Value.GetInt64()));
            var baseline = root.GetProperty("baseline");
            var final = root.GetProperty("final");
            foreach (var gauge in new[] { "connections", "rooms", "users" })
            {
                Assert.Equal(baseline.GetProperty(gauge).GetDouble(), final.GetProperty(gauge).GetDouble());
            }

            Assert.True(final.GetProperty("sockets").GetDouble() <= baseline.GetProperty("sockets").GetDouble() + 2, "the server's sockets are back to their baseline");
            Assert.Equal(0, exit);
        }
        finally
        {
            File.Delete(report);
        }
    }

    private async Task<int> RunSoakAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Switchboard.Load.dll"));
        info.ArgumentList.Add("soak");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the soak did not finish within 4 minutes");
        }
        finally
        {
            output.WriteLine(await stdout.WaitAsync(TimeSpan.FromSeconds(10)));
            output.WriteLine(await stderr.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        return process.ExitCode;
    }
}
