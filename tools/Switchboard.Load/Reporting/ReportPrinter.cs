using System.Globalization;
using Switchboard.Load.Cli;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Reporting;

/// <summary>Prints the results summary: exact counts, rates and percentiles, then the verdict.</summary>
internal static class ReportPrinter
{
    private static readonly double[] Percentiles = [50, 90, 99, 99.9];

    public static void Print(RunResult r, LoadOptions options, Verdict verdict)
    {
        var w = Console.Out;
        w.WriteLine();
        w.WriteLine($"== {r.Mode} results: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} core(s) visible to the tool, {r.Processes} process(es) ==");
        w.WriteLine($"target            {options.Url}");
        w.WriteLine($"machine load      1-min load average {r.LoadAverageStart:F1} at start, {r.LoadAverageEnd:F1} at end ({Environment.ProcessorCount} core(s) visible; above ~0.5 per core, other work competed with this run)");
        w.WriteLine($"connections       {r.Connected:N0} of {r.Attempted:N0} opened, {r.ConnectFailures:N0} failed, in {Figures.ConnectSeconds(r):F2} s");
        foreach (var sample in r.FailureSamples)
        {
            w.WriteLine($"  failure         {sample}");
        }

        switch (options.Mode)
        {
            case LoadMode.Fanout or LoadMode.Latency:
                PrintRoomLoad(w, r, options);
                break;
            case LoadMode.Connect:
                PrintConnect(w, r);
                break;
            case LoadMode.Idle:
                PrintIdle(w, r, options);
                break;
            default:
                break;
        }

        w.WriteLine($"server closes     {Verdict.Describe(r.Closes)}  (slow consumer 4000: {Figures.SlowConsumerCloses(r):N0})");
        w.WriteLine($"dropped           {r.Aborted:N0} connection(s) without a close frame");
        w.WriteLine($"error replies     {Verdict.Describe(r.Errors)}");
        w.WriteLine($"other messages    {Verdict.Describe(r.OtherOps)}");
        w.WriteLine(verdict.Passed ? "verdict           PASS" : "verdict           FAIL");
        foreach (var failure in verdict.Failures)
        {
            w.WriteLine($"  - {failure}");
        }
    }

    private static void PrintRoomLoad(TextWriter w, RunResult r, LoadOptions options)
    {
        var subscribers = r.Members - r.Publishers;
        w.WriteLine($"members           {r.Members:N0} ({subscribers:N0} subscribers + {r.Publishers:N0} publisher(s)), room '{options.Room}'");
        w.WriteLine($"publications      {r.Published:N0} sent, {r.PublishAcks:N0} acknowledged, {r.PublishErrors:N0} refused, {r.PublishUnanswered:N0} unanswered; offsets {r.StartOffset + 1:N0}..{r.FinalOffset:N0}; data ~{options.PayloadBytes} B");
        w.WriteLine($"deliveries        {r.Delivered:N0} received of {r.Expected:N0} owed");
        w.WriteLine($"throughput        {Figures.WindowThroughput(r):N0} deliveries/s over the {r.WindowSeconds:F2} s window ({r.WindowDelivered:N0} deliveries)");
        w.WriteLine($"                  {Figures.OverallThroughput(r):N0} deliveries/s from first publish to last delivery (warm-up and drain included)");
        var perFrame = r.Frames > 0 ? (double)r.Delivered / r.Frames : 0;
        w.WriteLine($"frames            {r.Frames:N0} received, {perFrame:F1} messages per frame on average");
        if (r.WindowWireBytes > 0)
        {
            // Message bytes over wire bytes: what permessage-deflate (--deflate) saves, frame headers included.
            w.WriteLine($"bytes (window)    {r.WindowMessageBytes:N0} of messages arrived as {r.WindowWireBytes:N0} on the wire: {(double)r.WindowMessageBytes / r.WindowWireBytes:F2}:1, "
                + $"{(double)r.WindowWireBytes / Math.Max(1, r.WindowDelivered):F1} B per delivery ({(options.Deflate ? "deflate offered" : "no compression offered")})");
        }

        if (r.ServerCpuSeconds is { } serverCpu && r.WindowDelivered > 0)
        {
            w.WriteLine($"server cpu        {serverCpu * 1e6 / r.WindowDelivered:F2} µs per delivery over the window");
        }

        w.WriteLine($"loss              gaps {r.Gaps:N0}, missing at end {r.TailMissing:N0} ({r.MembersBehindAtEnd:N0} member(s) behind), out of order {r.OutOfOrder:N0}, undelivered after a server close {r.UndeliveredAfterClose:N0}");
        PrintCpu(w, r, r.WindowSeconds, "window");
        PrintHistogram(w, "join latency", r.SetupLatency);
        if (r.Latency is not null)
        {
            PrintHistogram(w, "delivery latency", r.Latency);
        }
    }

    private static void PrintConnect(TextWriter w, RunResult r)
    {
        w.WriteLine($"connect rate      {Figures.ConnectRate(r):N0} connections/s (handshake + welcome)");
        PrintHistogram(w, "setup latency", r.SetupLatency);
        PrintCpu(w, r, Figures.ConnectSeconds(r), "connecting");
        if (r.RssBefore is { } before && r.RssAfter is { } after)
        {
            w.WriteLine($"server VmRSS      {Mib(before)} before, {Mib(after)} with all open");
        }
    }

    private static void PrintIdle(TextWriter w, RunResult r, LoadOptions options)
    {
        w.WriteLine($"held              {r.Members:N0} still open at the end, over {options.Rooms:N0} room(s), for {options.Duration.TotalSeconds:N0} s");
        PrintHistogram(w, "join latency", r.SetupLatency);
        if (r.RssBefore is { } before && r.RssAfter is { } after)
        {
            w.WriteLine($"server VmRSS      {Mib(before)} before, {Mib(after)} after (+{Mib(after - before)}); samples: {string.Join(" ", r.RssSamples.Select(Mib))}");
            w.WriteLine($"server RssAnon    {Mib(r.RssAnonBefore ?? 0)} before, {Mib(r.RssAnonAfter ?? 0)} after");
            w.WriteLine($"per connection    {Figures.BytesPerConnection(r):N0} B VmRSS ({Figures.BytesPerConnection(r) / 1024:F2} KiB), {Figures.AnonBytesPerConnection(r):N0} B RssAnon");
        }

        if (r.RssAfterClose is { } closed)
        {
            w.WriteLine($"after close       {Mib(closed)} VmRSS 3 s after closing them all");
        }
    }

    private static void PrintCpu(TextWriter w, RunResult r, double seconds, string span)
    {
        if (seconds <= 0)
        {
            return;
        }

        var server = r.ServerCpuSeconds is { } s ? $"server {s / seconds:F2} core(s), " : "server n/a (pass --server-pid), ";
        w.WriteLine($"{"cpu (" + span + ")",-18}{server}load tool {r.ToolCpuSeconds / seconds:F2} core(s) over {r.Processes} process(es), "
            + $"its GC paused it {r.ToolGcPauseSeconds * 1000:F0} ms ({r.ToolGen2Collections} full collection(s))");
    }

    private static void PrintHistogram(TextWriter w, string label, HistogramData? data)
    {
        if (data is null || data.Count == 0)
        {
            w.WriteLine($"{label,-18}no samples");
            return;
        }

        var histogram = data.ToHistogram();
        var parts = Percentiles.Select(p => string.Create(CultureInfo.InvariantCulture, $"p{p} {Ms(histogram.ValueAtPercentile(p))}"));
        w.WriteLine($"{label,-18}{string.Join("  ", parts)}  max {Ms(histogram.Max)}  mean {Ms((long)histogram.Mean)}  (n={histogram.Count:N0})");
    }

    private static string Ms(long nanoseconds) => string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1e6:F3} ms");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");
}
