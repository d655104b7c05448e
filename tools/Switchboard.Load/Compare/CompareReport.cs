using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Load.Compare;

/// <summary>The comparison as one table (a row per figure, a column per target: value and ratio to the Go hub) and as JSON.</summary>
internal static class CompareReport
{
    public static string Table(IReadOnlyList<TargetRun> runs, IReadOnlyList<string> targets)
    {
        var rows = new List<string[]>();
        rows.Add(["scenario", "figure", "unit", .. targets]);
        foreach (var scenario in runs.Select(r => r.Scenario).Distinct())
        {
            var ofScenario = runs.Where(r => r.Scenario == scenario).ToList();
            foreach (var figure in ofScenario.SelectMany(r => r.Figures).Select(f => (f.Name, f.Unit)).Distinct())
            {
                var baseline = Value(ofScenario, PeerTarget.Baseline, figure.Name);
                var cells = targets.Select(t => Cell(Value(ofScenario, t, figure.Name), baseline, t));
                rows.Add([scenario, figure.Name, figure.Unit, .. cells]);
            }

            rows.Add([scenario, "served every client", "", .. targets.Select(t => ofScenario.FirstOrDefault(r => r.Target == t)?.Served == true ? "yes" : "NO")]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var (row, index) in rows.Select((r, i) => (r, i)))
        {
            text.AppendLine("| " + string.Join(" | ", row.Select((cell, i) => i < 3 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))) + " |");
            if (index == 0)
            {
                text.AppendLine("| " + string.Join(" | ", widths.Select((w, i) => i < 3 ? new string('-', w) : new string('-', w - 1) + ":")) + " |");
            }
        }

        return text.ToString();
    }

    public static string Json(IReadOnlyList<TargetRun> runs, CompareSettings settings, MachineInfo machine) =>
        JsonSerializer.Serialize(
            new CompareJson(
                machine,
                settings.Scenarios,
                settings.Targets,
                settings.Duration.TotalSeconds,
                runs.Select(r => new TargetRunJson(r.Scenario, r.Target, r.Served, r.ConnectionsAsked, r.Connections, r.Deliveries, r.Problems, r.Figures.ToDictionary(f => f.Name, f => Round(f.Value)))).ToList()),
            CompareJsonContext.Default.CompareJson);

    private static double? Value(List<TargetRun> runs, string target, string figure) =>
        runs.FirstOrDefault(r => r.Target == target)?.Figures.FirstOrDefault(f => f.Name == figure)?.Value;

    private static string Cell(double? value, double? baseline, string target)
    {
        if (value is not { } v)
        {
            return "-";
        }

        var shown = Format(v);
        return target == PeerTarget.Baseline || baseline is not { } b || b == 0
            ? shown
            : string.Create(CultureInfo.InvariantCulture, $"{shown} ({v / b:0.00}x)");
    }

    private static string Format(double value) => Math.Abs(value) switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.0#", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static double Round(double value) => Math.Round(value, 4);
}

/// <summary>Where the figures came from: they mean little without the machine.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Os, string Runtime, double? LoadAverageStart, double? LoadAverageEnd, int? ServerCore, int? LoadCore)
{
    public static MachineInfo Read(int? serverCore, int? loadCore, double? loadStart, double? loadEnd)
    {
        var cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux, or no /proc: the CPU stays unnamed.
        }

        return new MachineInfo(cpu, Environment.ProcessorCount, System.Runtime.InteropServices.RuntimeInformation.OSDescription, Environment.Version.ToString(), loadStart, loadEnd, serverCore, loadCore);
    }
}

internal sealed record CompareJson(MachineInfo Machine, IReadOnlyList<string> Scenarios, IReadOnlyList<string> Targets, double DurationSeconds, IReadOnlyList<TargetRunJson> Runs);

internal sealed record TargetRunJson(string Scenario, string Target, bool Served, long ConnectionsAsked, long Connections, long Deliveries, IReadOnlyList<string> Problems, Dictionary<string, double> Figures);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(CompareJson))]
internal sealed partial class CompareJsonContext : JsonSerializerContext;
