using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Load.Soak;

/// <summary>
/// What a soak found: the samples, the slope of each series over the steady part of the run, the
/// members' delivery checks, and the counts after every client left compared with before any came.
/// </summary>
internal sealed class SoakReport
{
    /// <summary>The first part of the run, while connections open and the heap grows to its working size, is not fitted.</summary>
    public const double SteadyFrom = 0.2;

    /// <summary>Sockets the server may hold beyond its baseline after everyone left (the soak's own scrape connection).</summary>
    public const int SocketSlack = 2;

    public required ServerSample Baseline { get; init; }

    public required ServerSample Final { get; init; }

    public required IReadOnlyList<ServerSample> Samples { get; init; }

    public required long Delivered { get; init; }

    public required long Duplicates { get; init; }

    public required long Gaps { get; init; }

    public required long Reconnects { get; init; }

    public required long RecoveredMessages { get; init; }

    public required long Unrecoverable { get; init; }

    public required long UnexpectedCloses { get; init; }

    /// <summary>Those closes by the close code the server sent (or "dropped" with how the socket failed).</summary>
    public SortedDictionary<string, long> UnexpectedCloseReasons { get; init; } = [];

    public required long Unreadable { get; init; }

    public string? FirstUnreadable { get; init; }

    public required long HostileStarted { get; init; }

    public required long HostileClosed { get; init; }

    public required long Published { get; init; }

    public required long PublishFailures { get; init; }

    /// <summary>Failed publishes by reason: the HTTP status, <c>timeout</c>, or the connection error.</summary>
    public SortedDictionary<string, long> PublishFailureReasons { get; init; } = [];

    /// <summary>
    /// A series is flat when the line fitted over the steady part moves it from the start of that part
    /// to its end by no more than this share of its steady mean, or by no more than twice how far the
    /// samples scatter around that line: a garbage-collected heap and a thread pool breathe; a leak
    /// keeps going in one direction, further than its own noise.
    /// </summary>
    public const double FlatShare = 0.05;

    /// <summary>Least-squares slope per hour of each series over the steady samples.</summary>
    public Dictionary<string, double> SlopesPerHour => ServerSample.Series.ToDictionary(s => s.Name, s => SlopePerHour(s.Read));

    /// <summary>Each series' trend over the steady part: <c>flat</c>, <c>grows</c> or <c>shrinks</c> (see <see cref="FlatShare"/>).</summary>
    public Dictionary<string, string> Trends => ServerSample.Series.ToDictionary(s => s.Name, s => Trend(s.Read, s.IsBytes));

    /// <summary>Why the run fails; empty when it passes.</summary>
    public List<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (Duplicates > 0 || Gaps > 0)
            {
                problems.Add($"members saw {Duplicates} duplicate and {Gaps} missing offset(s)");
            }

            if (Unreadable > 0)
            {
                problems.Add($"members could not read {Unreadable} line(s), the first: {FirstUnreadable}");
            }

            if (Delivered == 0)
            {
                problems.Add("nothing was delivered");
            }

            foreach (var (name, read) in new (string, Func<ServerSample, double>)[] { ("connections", s => s.Connections), ("rooms", s => s.Rooms), ("users", s => s.Users) })
            {
                if (read(Final) != read(Baseline))
                {
                    problems.Add($"{name}: {read(Final)} after everyone left, {read(Baseline)} before anyone came");
                }
            }

            if (Final.Sockets > Baseline.Sockets + SocketSlack)
            {
                problems.Add($"sockets: {Final.Sockets} after everyone left, {Baseline.Sockets} before anyone came");
            }

            return problems;
        }
    }

    public void Print(TextWriter w)
    {
        w.WriteLine();
        w.WriteLine($"{"series",-14}{"baseline",14}{"steady mean",14}{"final",14}{"slope/hour",16}{"trend",9}");
        foreach (var (name, read, isBytes) in ServerSample.Series)
        {
            w.WriteLine($"{name,-14}{Format(read(Baseline), isBytes),14}{Format(SteadyMean(read), isBytes),14}{Format(read(Final), isBytes),14}{Format(SlopePerHour(read), isBytes),16}{Trend(read, isBytes),9}");
        }

        w.WriteLine();
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"members   {Delivered:N0} delivered, {Duplicates} duplicate(s), {Gaps} missing, {Reconnects:N0} reconnect(s) recovering {RecoveredMessages:N0} message(s), {Unrecoverable} told recovery was impossible, {UnexpectedCloses} closed by the server{(UnexpectedCloseReasons.Count == 0 ? "" : " (" + string.Join(", ", UnexpectedCloseReasons.Select(r => $"{r.Key} × {r.Value}")) + ")")}"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hostile   {HostileStarted:N0} started, {HostileClosed:N0} closed by the server"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"published {Published:N0} through the HTTP API ({PublishFailures} failed{(PublishFailureReasons.Count == 0 ? "" : ": " + string.Join(", ", PublishFailureReasons.Select(r => $"{r.Key} × {r.Value}")))})"));
        var problems = Problems;
        w.WriteLine($"verdict   {(problems.Count == 0 ? "PASS" : "FAIL")}");
        foreach (var problem in problems)
        {
            w.WriteLine("  - " + problem);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A report read back from <see cref="ToJson"/> (the computed parts are computed again).</summary>
    public static SoakReport FromJson(string json) =>
        JsonSerializer.Deserialize<SoakReport>(json, Json) ?? throw new JsonException("the file holds no soak report");

    /// <summary>An HTML page with one SVG line chart per series, for docs/benchmarks.md.</summary>
    public string ToHtml(string title)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<!doctype html><meta charset=utf-8><title>{title}</title><body style=\"font:14px sans-serif\"><h1>{title}</h1>");
        foreach (var (name, read, isBytes) in ServerSample.Series)
        {
            html.Append(Chart(name, read, isBytes));
        }

        return html.Append("</body>").ToString();
    }

    private string Chart(string name, Func<ServerSample, double> read, bool isBytes)
    {
        const int Width = 640, Height = 160, Pad = 4;
        var points = Samples.Where(s => !double.IsNaN(read(s))).ToList();
        if (points.Count < 2)
        {
            return string.Empty;
        }

        var (minX, maxX) = (points[0].Seconds, points[^1].Seconds);
        var (minY, maxY) = (Math.Min(0, points.Min(read)), Math.Max(1, points.Max(read)));
        var line = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"{Pad + ((p.Seconds - minX) / Math.Max(1, maxX - minX) * (Width - 2 * Pad)):F1},{Height - Pad - ((read(p) - minY) / (maxY - minY) * (Height - 2 * Pad)):F1}")));
        return string.Create(CultureInfo.InvariantCulture,
            $"<h3>{name}: {Format(points[0].Seconds == minX ? read(points[0]) : 0, isBytes)} → {Format(read(points[^1]), isBytes)}, max {Format(maxY, isBytes)}, slope {Format(SlopePerHour(read), isBytes)}/h over the steady part ({Trend(read, isBytes)}), {maxX - minX:F0} s in all</h3>"
            + $"<svg width=\"{Width}\" height=\"{Height}\" style=\"border:1px solid #ccc\"><polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.5\" points=\"{line}\"/></svg>");
    }

    private List<ServerSample> Steady()
    {
        if (Samples.Count == 0)
        {
            return [];
        }

        var from = Samples[0].Seconds + ((Samples[^1].Seconds - Samples[0].Seconds) * SteadyFrom);
        return Samples.Where(s => s.Seconds >= from).ToList();
    }

    private double SteadyMean(Func<ServerSample, double> read)
    {
        var values = Steady().Select(read).Where(v => !double.IsNaN(v)).ToList();
        return values.Count == 0 ? double.NaN : values.Average();
    }

    private string Trend(Func<ServerSample, double> read, bool isBytes)
    {
        var points = Steady().Where(s => !double.IsNaN(read(s))).ToList();
        var (slope, mean) = (SlopePerHour(read), SteadyMean(read));
        if (points.Count < 3 || double.IsNaN(slope))
        {
            return "n/a";
        }

        var drift = slope * (points[^1].Seconds - points[0].Seconds) / 3600;
        var meanSeconds = points.Average(p => p.Seconds);
        var scatter = Math.Sqrt(points.Sum(p => Math.Pow(read(p) - (mean + (slope / 3600 * (p.Seconds - meanSeconds))), 2)) / (points.Count - 2));
        // A gauge that sits near zero (queued bytes) is flat within a floor rather than a share of nothing.
        var tolerance = Math.Max(Math.Max(Math.Abs(mean) * FlatShare, 2 * scatter), isBytes ? 1048576 : 1);
        return Math.Abs(drift) <= tolerance ? "flat" : drift > 0 ? "grows" : "shrinks";
    }

    private double SlopePerHour(Func<ServerSample, double> read)
    {
        var points = Steady().Where(s => !double.IsNaN(read(s))).ToList();
        if (points.Count < 2)
        {
            return double.NaN;
        }

        var meanX = points.Average(p => p.Seconds);
        var meanY = points.Average(read);
        var covariance = points.Sum(p => (p.Seconds - meanX) * (read(p) - meanY));
        var variance = points.Sum(p => (p.Seconds - meanX) * (p.Seconds - meanX));
        return variance == 0 ? double.NaN : covariance / variance * 3600;
    }

    private static string Format(double value, bool isBytes) =>
        double.IsNaN(value) ? "n/a"
        : isBytes ? string.Create(CultureInfo.InvariantCulture, $"{value / 1048576:F1} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{value:F1}");

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };
}
