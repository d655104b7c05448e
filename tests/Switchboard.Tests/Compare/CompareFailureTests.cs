using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Compare;

/// <summary>
/// A target that cannot serve fails its own row only: the comparison goes on with the next target,
/// says NO in the table, writes the reason to the JSON and exits non-zero.
/// </summary>
[Trait("Category", "integration")]
public sealed class CompareFailureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ATargetWhoseServerCannotStartIsReportedAndTheNextTargetStillRuns()
    {
        // A repository root without any built server: every target fails to start.
        var emptyRepo = Directory.CreateTempSubdirectory("switchboard-compare-empty-");
        var report = Path.Combine(emptyRepo.FullName, "compare.json");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(emptyRepo.FullName, "Switchboard.slnx"), "<Solution />");
            var (exit, stdout) = await CompareProcess.RunAsync(output, RunTimeout,
                "--repo", emptyRepo.FullName, "--scenario", "connect", "--targets", "kestrel,go", "--connect-clients", "10", "--no-pin", "--json-out", report);

            Assert.Equal(1, exit);
            Assert.Matches(@"served every client\s*\|\s*\|\s*NO \|\s*NO \|", stdout);
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
            Assert.Equal(["kestrel", "go"], runs.Select(r => r.GetProperty("target").GetString()));
            Assert.All(runs, r => Assert.False(r.GetProperty("served").GetBoolean()));
            Assert.All(runs, r => Assert.NotEqual(0, r.GetProperty("problems").GetArrayLength()));
        }
        finally
        {
            emptyRepo.Delete(recursive: true);
        }
    }
}
