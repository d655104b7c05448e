using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Switchboard.Tests.Compare;

/// <summary>Runs the load tool's <c>compare</c> mode as its own process, as a user would, writing what it printed to the test's output.</summary>
internal static class CompareProcess
{
    /// <summary>Runs <c>compare</c> with <paramref name="args"/>; killed (with its servers) and failed if it outlasts <paramref name="timeout"/>.</summary>
    public static async Task<(int Exit, string Stdout)> RunAsync(ITestOutputHelper output, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Switchboard.Load.dll"));
        info.ArgumentList.Add("compare");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"compare did not finish within {timeout.TotalMinutes} minutes"));
        }
        finally
        {
            output.WriteLine(await stdout.WaitAsync(TimeSpan.FromSeconds(10)));
            output.WriteLine(await stderr.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        return (process.ExitCode, await stdout);
    }
}
