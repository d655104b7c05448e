using System.Globalization;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// One read of <c>/metrics</c>: the raw text and its samples keyed by series, such as
/// <c>switchboard_errors_total{code="not_joined"}</c>, or the bare name for a series without labels
/// (which the OpenTelemetry exporter writes as <c>name{}</c>).
/// </summary>
public sealed class MetricsScrape
{
    private MetricsScrape(string text, IReadOnlyDictionary<string, double> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyDictionary<string, double> Samples { get; }

    /// <summary>The value of <paramref name="series"/>, or null when the server does not export it.</summary>
    public double? this[string series] => Samples.TryGetValue(series, out var value) ? value : null;

    public static async Task<MetricsScrape> ReadAsync(TestServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return await ReadAsync(server.Http);
    }

    /// <summary>Scrapes <c>/metrics</c> relative to <paramref name="http"/>'s base address.</summary>
    public static async Task<MetricsScrape> ReadAsync(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return Parse(await http.GetStringAsync(new Uri("metrics", UriKind.Relative)));
    }

    public static MetricsScrape Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            samples[series.EndsWith("{}", StringComparison.Ordinal) ? series[..^2] : series] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return new MetricsScrape(text, samples);
    }
}
