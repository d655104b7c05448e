using System.Globalization;
using Switchboard.Load.Cli;

namespace Switchboard.Load.Reporting;

/// <summary>
/// Whether a run passed: nothing lost, reordered or refused, every connection opened, and every
/// <c>--budget</c> option met. Benchmarks are not tests; this exists so a script can tell a clean
/// run from a broken one.
/// </summary>
internal sealed class Verdict
{
    private readonly List<string> _failures = [];

    public IReadOnlyList<string> Failures => _failures;

    public bool Passed => _failures.Count == 0;

    public static Verdict Evaluate(RunResult r, LoadOptions options)
    {
        var v = new Verdict();
        v.FailIf(r.ConnectFailures > 0, $"{r.ConnectFailures:N0} connection(s) failed to open");
        v.FailIf(r.Connected < r.Attempted && r.ConnectFailures == 0, $"only {r.Connected:N0} of {r.Attempted:N0} connections opened (run cut short)");
        v.FailIf(Figures.ServerCloses(r) > 0, $"the server closed {Figures.ServerCloses(r):N0} connection(s): {Describe(r.Closes)}");
        v.FailIf(r.Aborted > 0, $"{r.Aborted:N0} connection(s) dropped without a close frame");
        v.FailIf(r.Malformed > 0, $"{r.Malformed:N0} server message(s) were not valid JSON objects");

        switch (options.Mode)
        {
            case LoadMode.Fanout or LoadMode.Latency:
                v.FailIf(r.Published == 0, "nothing was published");
                v.FailIf(r.PublishErrors > 0, $"{r.PublishErrors:N0} publish(es) were refused: {Describe(r.Errors)}");
                v.FailIf(r.PublishUnanswered > 0, $"{r.PublishUnanswered:N0} publish(es) were never answered");
                v.FailIf(r.Delivered > r.Expected, $"{r.Delivered - r.Expected:N0} more deliveries than publications owed: someone else published to the room, or offsets repeat");
                v.FailIf(r.Gaps > 0, $"{r.Gaps:N0} message(s) lost (gaps in offsets)");
                v.FailIf(r.TailMissing > 0, $"{r.TailMissing:N0} message(s) never arrived at {r.MembersBehindAtEnd:N0} open member(s) within the drain timeout");
                v.FailIf(r.OutOfOrder > 0, $"{r.OutOfOrder:N0} message(s) out of order or duplicated");
                v.FailIf(r.UndeliveredAfterClose > 0, $"{r.UndeliveredAfterClose:N0} message(s) undelivered to members the server closed");
                if (options.MinThroughput is { } min)
                {
                    var throughput = Figures.WindowThroughput(r);
                    v.FailIf(throughput < min, $"throughput {throughput:N0} deliveries/s is below --min-throughput {min:N0}");
                }

                if (options.MaxP99Milliseconds is { } maxP99 && r.Latency is { } latency)
                {
                    var p99 = latency.ToHistogram().ValueAtPercentile(99) / 1e6;
                    v.FailIf(p99 > maxP99, string.Create(CultureInfo.InvariantCulture, $"p99 latency {p99:F2} ms exceeds --max-p99-ms {maxP99}"));
                }

                break;
            case LoadMode.Connect when options.MinConnectRate is { } minRate:
                var rate = Figures.ConnectRate(r);
                v.FailIf(rate < minRate, $"connect rate {rate:N0}/s is below --min-connect-rate {minRate:N0}");
                break;
            case LoadMode.Idle when options.MaxBytesPerConnection is { } maxBytes:
                var perConnection = Figures.BytesPerConnection(r);
                v.FailIf(perConnection is null || perConnection > maxBytes, $"server memory {perConnection:N0} B per connection exceeds --max-bytes-per-connection {maxBytes:N0}");
                break;
            default:
                break;
        }

        return v;
    }

    public static string Describe(Dictionary<string, long> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.OrderByDescending(p => p.Value).Select(p => $"{Label(p.Key)} x{p.Value:N0}"));

    private static string Label(string code) => code switch
    {
        "4000" => "4000 slow consumer",
        "4001" => "4001 heartbeat timeout",
        "4500" => "4500 protocol violation",
        "1001" => "1001 going away",
        "1009" => "1009 message too big",
        "1011" => "1011 internal error",
        _ => code,
    };

    private void FailIf(bool condition, string reason)
    {
        if (condition)
        {
            _failures.Add(reason);
        }
    }
}
