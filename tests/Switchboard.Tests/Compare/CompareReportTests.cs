using Switchboard.Load.Compare;
using Xunit;

namespace Switchboard.Tests.Compare;

/// <summary>The table shows each target's value with its ratio to the Go hub, and says who did not serve every client.</summary>
[Trait("Category", "unit")]
public sealed class CompareReportTests
{
    [Fact]
    public void EachCellCarriesItsRatioToTheGoHubAndAnUnservedTargetIsNamed()
    {
        var go = Run("go", 2_000, served: true);
        var switchboard = Run("switchboard", 3_000, served: true);
        var node = Run("node", 1_000, served: false);

        var table = CompareReport.Table([switchboard, node, go], ["switchboard", "node", "go"]);

        var rate = table.Split('\n').Single(l => l.Contains("connects/s", StringComparison.Ordinal));
        Assert.Contains("3,000 (1.50x)", rate, StringComparison.Ordinal);
        Assert.Contains("1,000 (0.50x)", rate, StringComparison.Ordinal);
        Assert.EndsWith("| 2,000 |", rate.TrimEnd(), StringComparison.Ordinal);
        var served = table.Split('\n').Single(l => l.Contains("served every client", StringComparison.Ordinal));
        Assert.Matches(@"\|\s+yes \|\s+NO \|\s+yes \|", served);
    }

    private static TargetRun Run(string target, double connectsPerSecond, bool served)
    {
        var run = new TargetRun("connect", target) { ConnectionsAsked = 10, Connections = 10, Deliveries = 10 };
        run.Add("connects/s", "/s", connectsPerSecond, higherIsBetter: true);
        if (!served)
        {
            run.Problems.Add("1 connection failed");
        }

        return run;
    }
}
