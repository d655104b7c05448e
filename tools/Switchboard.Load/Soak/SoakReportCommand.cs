using System.CommandLine;

namespace Switchboard.Load.Soak;

/// <summary>
/// <c>soak-report</c>: prints a finished soak's report again from its <c>--json-out</c> file, and
/// optionally its chart, so that a run of an hour is read again (or with a newer report) without
/// being run again.
/// </summary>
internal static class SoakReportCommand
{
    public static Command Create()
    {
        var json = new Argument<FileInfo>("json") { Description = "A soak's --json-out file." };
        var chart = new Option<string?>("--chart") { Description = "Write the HTML page of charts here." };
        var title = new Option<string>("--title") { Description = "The chart page's title.", DefaultValueFactory = _ => "Switchboard soak" };
        var command = new Command("soak-report", "Print a finished soak's report (slopes, trends, verdict) from its JSON, and optionally write its chart.") { json, chart, title };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var report = SoakReport.FromJson(await File.ReadAllTextAsync(parse.GetValue(json)!.FullName, cancellationToken));
            report.Print(Console.Out);
            if (parse.GetValue(chart) is { } chartPath)
            {
                await File.WriteAllTextAsync(chartPath, report.ToHtml(parse.GetValue(title)!), cancellationToken);
            }

            return report.Problems.Count == 0 ? 0 : SoakCommand.Failed;
        });
        return command;
    }
}
