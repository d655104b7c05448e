using System.Diagnostics;
using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// One connection publishing with an id and waiting for each reply before the next: the rate a
/// single connection can sustain, since a connection's commands are handled one after another.
/// </summary>
internal static class ClosedLoopRun
{
    public static async Task<string> RunAsync(TimeSpan duration, string? redis, CancellationToken cancellationToken)
    {
        await using var node = await BenchNode.StartAsync(redis);
        await using var publisher = await BenchClient.ConnectAsync(node.Ws, "publisher", cancellationToken);
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        for (var id = 2; clock.Elapsed < duration; id++)
        {
            var sent = Stopwatch.GetTimestamp();
            await publisher.RequestAsync($$$"""{"op":"publish","room":"{{{BenchClient.Room}}}","data":{"t":{{{sent}}}},"id":{{{id}}}}""", id, cancellationToken);
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        }

        latencies.Sort();
        var broker = redis is null ? "memory" : "redis";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {broker} | {latencies.Count / clock.Elapsed.TotalSeconds:F0} | {latencies[latencies.Count / 2]:F3} | {latencies[(int)(latencies.Count * 0.99)]:F3} |");
    }
}
