using System.Diagnostics;
using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// One run: node A (and node B with Redis), a publisher and a member on A, a member on B. The
/// publisher sends at a fixed rate (open loop, so a slow delivery cannot hold publishing back and
/// hide its own latency), each publication carrying its send timestamp. Latency counts from that
/// timestamp, so time a publication waits behind earlier ones in the server counts too.
/// </summary>
internal static class LatencyRun
{
    public static async Task<IReadOnlyList<string>> RunAsync(BenchSettings settings, string? redis, CancellationToken cancellationToken)
    {
        await using var a = await BenchNode.StartAsync(redis);
        await using var b = redis is null ? null : await BenchNode.StartAsync(redis);
        await using var publisher = await BenchClient.ConnectAsync(a.Ws, "publisher", cancellationToken);
        await using var local = await BenchClient.ConnectAsync(a.Ws, "local", cancellationToken);
        await using var remote = b is null ? null : await BenchClient.ConnectAsync(b.Ws, "remote", cancellationToken);
        var members = new[] { ("same node", local), ("other node", remote) }.Where(m => m.Item2 is not null).Select(m => (Name: m.Item1, Client: m.Item2!)).ToArray();

        var total = settings.Warmup + settings.Messages;
        var interval = Stopwatch.Frequency / (double)settings.Rate;
        var start = Stopwatch.GetTimestamp();
        // A 1 ms tick sends whatever is due: at most a millisecond's worth at once, and no core spent spinning.
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < total;)
        {
            var now = Stopwatch.GetTimestamp();
            for (; i < total && start + (long)(i * interval) <= now; i++)
            {
                if (i == settings.Warmup)
                {
                    foreach (var (_, client) in members)
                    {
                        client.MeasureFrom(now);
                    }
                }

                await publisher.SendAsync($$$"""{"op":"publish","room":"{{{BenchClient.Room}}}","data":{"t":{{{Stopwatch.GetTimestamp()}}}}}""", cancellationToken);
            }

            await tick.WaitForNextTickAsync(cancellationToken);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (members.Any(m => m.Client.Received < total) && DateTime.UtcNow < deadline)
        {
            // Polling interval while the last deliveries drain.
            await Task.Delay(10, cancellationToken);
        }

        var broker = redis is null ? "memory (1 node)" : "redis (2 nodes)";
        return members.Select(m => Row(broker, m.Name, m.Client.Latencies(), m.Client.Received, total)).ToArray();
    }

    internal static string Row(string broker, string member, double[] latencies, int received, int total)
    {
        Array.Sort(latencies);
        string At(double quantile) => latencies.Length == 0
            ? "-"
            : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(quantile * latencies.Length) - 1)].ToString("F2", CultureInfo.InvariantCulture);
        return $"| {broker} | {member} | {At(0.5)} | {At(0.9)} | {At(0.99)} | {At(0.999)} | {At(1)} | {received}/{total} |";
    }
}
