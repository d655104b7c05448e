using System.Globalization;

namespace Switchboard.Load.Soak;

/// <summary>
/// One look at the server: its process from /proc (resident memory, open files, threads) and its own
/// gauges from <c>/metrics</c> (connections, rooms, users, queued bytes, managed heap after the last GC).
/// A gauge the scrape did not carry is NaN.
/// </summary>
internal sealed record ServerSample(
    double Seconds,
    double RssBytes,
    double HeapBytes,
    double OpenFiles,
    double Sockets,
    double Threads,
    double Connections,
    double Rooms,
    double Users,
    double QueueBytes)
{
    /// <summary>The series a soak tracks, by name, in the order reports print them.</summary>
    public static readonly (string Name, Func<ServerSample, double> Read, bool IsBytes)[] Series =
    [
        ("rss", s => s.RssBytes, true),
        ("managed heap", s => s.HeapBytes, true),
        ("open files", s => s.OpenFiles, false),
        ("sockets", s => s.Sockets, false),
        ("threads", s => s.Threads, false),
        ("connections", s => s.Connections, false),
        ("rooms", s => s.Rooms, false),
        ("users", s => s.Users, false),
        ("queued bytes", s => s.QueueBytes, true),
    ];

    public static async Task<ServerSample> TakeAsync(int pid, HttpClient http, double seconds, CancellationToken cancellationToken)
    {
        var status = ReadStatus(pid);
        var (openFiles, sockets) = CountFiles(pid);
        var gauges = await ScrapeAsync(http, cancellationToken);
        return new ServerSample(
            seconds,
            status.GetValueOrDefault("VmRSS", double.NaN) * 1024,
            Sum(gauges, "dotnet_gc_last_collection_heap_size_bytes"),
            openFiles,
            sockets,
            status.GetValueOrDefault("Threads", double.NaN),
            Sum(gauges, "switchboard_connections"),
            Sum(gauges, "switchboard_rooms"),
            Sum(gauges, "switchboard_users"),
            Sum(gauges, "switchboard_queue_bytes"));
    }

    /// <summary>
    /// Open file descriptors, and how many of them are sockets. Loaded assemblies are files too, and a
    /// server maps more of them as new code paths run, so the leak check looks at sockets.
    /// </summary>
    private static (double Files, double Sockets) CountFiles(int pid)
    {
        var directory = $"/proc/{pid}/fd";
        if (!Directory.Exists(directory))
        {
            return (double.NaN, double.NaN);
        }

        var files = 0;
        var sockets = 0;
        foreach (var fd in Directory.EnumerateFiles(directory))
        {
            files++;
            try
            {
                if (new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true)
                {
                    sockets++;
                }
            }
            catch (IOException)
            {
                // Closed between the listing and the look.
            }
        }

        return (files, sockets);
    }

    /// <summary>The numeric fields of /proc/PID/status (kB values stay in kB).</summary>
    private static Dictionary<string, double> ReadStatus(int pid)
    {
        var fields = new Dictionary<string, double>(StringComparer.Ordinal);
        var path = $"/proc/{pid}/status";
        if (!File.Exists(path))
        {
            return fields;
        }

        foreach (var line in File.ReadLines(path))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var value = colon < 0 ? [] : line[(colon + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (value.Length > 0 && double.TryParse(value[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                fields[line[..colon]] = number;
            }
        }

        return fields;
    }

    /// <summary>Every sample line of the Prometheus text as (name with labels, value).</summary>
    private static async Task<List<(string Series, double Value)>> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var samples = new List<(string, double)>();
        string text;
        try
        {
            text = await http.GetStringAsync(new Uri("metrics", UriKind.Relative), cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Unreachable, or slower than the client's timeout: this sample has no gauges (NaN), the next one may.
            return samples;
        }

        foreach (var line in text.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.Length == 0 || line[0] == '#' || space < 0)
            {
                continue;
            }

            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                samples.Add((line[..space], value));
            }
        }

        return samples;
    }

    private static double Sum(List<(string Series, double Value)> samples, string metric)
    {
        var matching = samples.Where(s => s.Series == metric || s.Series.StartsWith(metric + "{", StringComparison.Ordinal)).ToList();
        return matching.Count == 0 ? double.NaN : matching.Sum(s => s.Value);
    }
}
