using System.Diagnostics.Metrics;
using Switchboard.Metrics;
using Xunit;

namespace Switchboard.Tests.Metrics;

[Trait("Category", "unit")]
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new("test-" + Guid.NewGuid());
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests()
    {
        _exporter = new PrometheusExporter(_meter);
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public void CounterIsSummedAndNamedWithTotalSuffixWithoutUnit()
    {
        Counter<long> sent = _meter.CreateCounter<long>("switchboard.messages-sent", unit: "{message}", description: "Messages sent.");
        sent.Add(2);
        sent.Add(3);

        Assert.Equal(
            "# HELP switchboard_messages_sent_total Messages sent.\n" +
            "# TYPE switchboard_messages_sent_total counter\n" +
            "switchboard_messages_sent_total 5\n",
            _exporter.Render());
    }

    [Fact]
    public void CounterAlreadyEndingInTotalIsNotSuffixedTwice()
    {
        _meter.CreateCounter<long>("requests_total").Add(1);

        Assert.Contains("requests_total 1", Lines(_exporter.Render()));
    }

    [Fact]
    public void DoubleCounterRendersFractionsWithAPoint()
    {
        Counter<double> work = _meter.CreateCounter<double>("work.seconds");
        work.Add(0.25);
        work.Add(0.5);

        Assert.Contains("work_seconds_total 0.75", Lines(_exporter.Render()));
    }

    [Fact]
    public void TaggedMeasurementsAreAggregatedPerDistinctLabelSetWhateverTheTagOrder()
    {
        Counter<long> published = _meter.CreateCounter<long>("published");
        published.Add(1, new("room", "b"), new("kind", "chat"));
        published.Add(2, new("kind", "chat"), new("room", "b"));
        published.Add(4, new KeyValuePair<string, object?>("room", "a"));
        published.Add(8);

        string[] lines = Lines(_exporter.Render());

        Assert.Equal(
            ["published_total 8", "published_total{kind=\"chat\",room=\"b\"} 3", "published_total{room=\"a\"} 4"],
            lines.Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void NonStringTagValuesAreFormattedInvariantly()
    {
        Counter<long> counter = _meter.CreateCounter<long>("closed");
        counter.Add(1, new("code", 1008), new("ratio", 0.5), new("clean", true), new("reason", null));

        Assert.Contains("closed_total{clean=\"true\",code=\"1008\",ratio=\"0.5\",reason=\"\"} 1", Lines(_exporter.Render()));
    }

    [Fact]
    public void UpDownCounterIsAGaugeThatCanGoDown()
    {
        UpDownCounter<long> connections = _meter.CreateUpDownCounter<long>("connections");
        connections.Add(3);
        connections.Add(-5);

        string[] lines = Lines(_exporter.Render());

        Assert.Contains("# TYPE connections gauge", lines);
        Assert.Contains("connections -2", lines);
    }

    [Fact]
    public void ObservableGaugeIsReadFromItsCallbackAtEachRender()
    {
        long rooms = 4;
        double load = 0.5;
        _meter.CreateObservableGauge("rooms", () => rooms);
        _meter.CreateObservableGauge("load", () => new Measurement<double>(load, new KeyValuePair<string, object?>("node", "n1")));

        string[] first = Lines(_exporter.Render());
        rooms = 7;
        load = 1.5;
        string[] second = Lines(_exporter.Render());

        Assert.Contains("# TYPE rooms gauge", first);
        Assert.Contains("rooms 4", first);
        Assert.Contains("load{node=\"n1\"} 0.5", first);
        Assert.Contains("rooms 7", second);
        Assert.Contains("load{node=\"n1\"} 1.5", second);
    }

    [Fact]
    public void ObservableCountersReportTheirCumulativeValueRatherThanSummingScrapes()
    {
        _meter.CreateObservableCounter("frames", () => 10L);
        _meter.CreateObservableUpDownCounter("queued", () => 3L);

        _exporter.Render();
        string[] lines = Lines(_exporter.Render());

        Assert.Contains("# TYPE frames_total counter", lines);
        Assert.Contains("frames_total 10", lines);
        Assert.Contains("# TYPE queued gauge", lines);
        Assert.Contains("queued 3", lines);
    }

    [Fact]
    public void ObservedSeriesThatAreNoLongerReportedDisappear()
    {
        var members = new Dictionary<string, long> { ["a"] = 1, ["b"] = 2 };
        _meter.CreateObservableGauge("members", () =>
            members.Select(m => new Measurement<long>(m.Value, new KeyValuePair<string, object?>("room", m.Key))));

        Assert.Contains("members{room=\"b\"} 2", Lines(_exporter.Render()));
        members.Remove("b");
        string[] lines = Lines(_exporter.Render());

        Assert.Contains("members{room=\"a\"} 1", lines);
        Assert.DoesNotContain(lines, l => l.Contains("room=\"b\"", StringComparison.Ordinal));
    }

    [Fact]
    public void HistogramBucketsAreCumulativeInclusiveAndEndWithInfinity()
    {
        Histogram<double> latency = _meter.CreateHistogram<double>("latency", unit: "s", description: "Delivery latency.");
        foreach (double value in new[] { 0.0003, 0.003, 0.1, 7, 100 })
        {
            latency.Record(value, new KeyValuePair<string, object?>("path", "ws"));
        }

        string[] lines = Lines(_exporter.Render());

        Assert.Equal(
            [
                "# HELP latency Delivery latency.",
                "# TYPE latency histogram",
                "latency_bucket{path=\"ws\",le=\"0.0005\"} 1",
                "latency_bucket{path=\"ws\",le=\"0.001\"} 1",
                "latency_bucket{path=\"ws\",le=\"0.0025\"} 1",
                "latency_bucket{path=\"ws\",le=\"0.005\"} 2",
                "latency_bucket{path=\"ws\",le=\"0.01\"} 2",
                "latency_bucket{path=\"ws\",le=\"0.025\"} 2",
                "latency_bucket{path=\"ws\",le=\"0.05\"} 2",
                "latency_bucket{path=\"ws\",le=\"0.1\"} 3",
                "latency_bucket{path=\"ws\",le=\"0.25\"} 3",
                "latency_bucket{path=\"ws\",le=\"0.5\"} 3",
                "latency_bucket{path=\"ws\",le=\"1\"} 3",
                "latency_bucket{path=\"ws\",le=\"2.5\"} 3",
                "latency_bucket{path=\"ws\",le=\"5\"} 3",
                "latency_bucket{path=\"ws\",le=\"10\"} 4",
                "latency_bucket{path=\"ws\",le=\"+Inf\"} 5",
                "latency_sum{path=\"ws\"} 107.1033",
                "latency_count{path=\"ws\"} 5",
            ],
            lines);
    }

    [Fact]
    public void HistogramUsesTheBucketBoundariesItsInstrumentAdvises()
    {
        Histogram<double> size = _meter.CreateHistogram<double>(
            "payload.bytes", unit: "By", description: null, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [64, 1024] });
        size.Record(100);

        string[] lines = Lines(_exporter.Render());

        Assert.Equal(
            ["payload_bytes_bucket{le=\"64\"} 0", "payload_bytes_bucket{le=\"1024\"} 1", "payload_bytes_bucket{le=\"+Inf\"} 1"],
            lines.Where(l => l.StartsWith("payload_bytes_bucket", StringComparison.Ordinal)));
    }

    [Fact]
    public void LabelValuesAndHelpTextAreEscaped()
    {
        Counter<long> errors = _meter.CreateCounter<long>("errors", unit: null, description: "Back\\slash\nnewline");
        errors.Add(1, new KeyValuePair<string, object?>("detail", "a\\b\"c\nd"));

        string text = _exporter.Render();

        Assert.Contains("# HELP errors_total Back\\\\slash\\nnewline\n", text, StringComparison.Ordinal);
        Assert.Contains("errors_total{detail=\"a\\\\b\\\"c\\nd\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void InstrumentTagsBecomeLabelsOnEverySeries()
    {
        Counter<long> counter = _meter.CreateCounter<long>("hits", unit: null, description: null, tags: [new("node", "n1")]);
        counter.Add(1);
        counter.Add(2, new KeyValuePair<string, object?>("room", "a"));

        string[] lines = Lines(_exporter.Render());

        Assert.Contains("hits_total{node=\"n1\"} 1", lines);
        Assert.Contains("hits_total{node=\"n1\",room=\"a\"} 2", lines);
    }

    [Fact]
    public void InstrumentsOfAnotherMeterAreNotExportedEvenWithTheSameName()
    {
        using var other = new Meter(_meter.Name);
        other.CreateCounter<long>("shared").Add(100);
        other.CreateCounter<long>("foreign").Add(1);
        _meter.CreateCounter<long>("shared").Add(1);

        string text = _exporter.Render();

        Assert.Contains("shared_total 1", Lines(text));
        Assert.DoesNotContain("100", text, StringComparison.Ordinal);
        Assert.DoesNotContain("foreign", text, StringComparison.Ordinal);
    }

    [Fact]
    public void InstrumentsCreatedBeforeTheExporterAreExportedToo()
    {
        using var meter = new Meter("test-" + Guid.NewGuid());
        Counter<long> early = meter.CreateCounter<long>("early");
        using var exporter = new PrometheusExporter(meter);
        early.Add(1);

        Assert.Contains("early_total 1", Lines(exporter.Render()));
    }

    [Fact]
    public void InstrumentsWithoutMeasurementsAreLeftOut()
    {
        _meter.CreateCounter<long>("unused");
        _meter.CreateHistogram<double>("unused.histogram");

        Assert.Equal("", _exporter.Render());
    }

    [Fact]
    public void OutputIsSortedByNameThenLabels()
    {
        _meter.CreateCounter<long>("zeta").Add(1);
        Counter<long> alpha = _meter.CreateCounter<long>("alpha");
        alpha.Add(1, new KeyValuePair<string, object?>("room", "z"));
        alpha.Add(1, new KeyValuePair<string, object?>("room", "a"));

        Assert.Equal(
            ["# TYPE alpha_total counter", "alpha_total{room=\"a\"} 1", "alpha_total{room=\"z\"} 1", "# TYPE zeta_total counter", "zeta_total 1"],
            Lines(_exporter.Render()));
    }

    [Fact]
    public void ConcurrentRecordingFromManyThreadsLosesNoMeasurements()
    {
        Counter<long> counter = _meter.CreateCounter<long>("concurrent");
        Histogram<double> histogram = _meter.CreateHistogram<double>("concurrent.latency");
        const int Threads = 8;
        const int PerThread = 10_000;

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                counter.Add(1);
                counter.Add(1, new KeyValuePair<string, object?>("parity", i % 2 == 0 ? "even" : "odd"));
                histogram.Record(0.5);
            }
        });

        string[] lines = Lines(_exporter.Render());

        Assert.Contains($"concurrent_total {Threads * PerThread}", lines);
        Assert.Contains($"concurrent_total{{parity=\"even\"}} {Threads * PerThread / 2}", lines);
        Assert.Contains($"concurrent_total{{parity=\"odd\"}} {Threads * PerThread / 2}", lines);
        Assert.Contains($"concurrent_latency_count {Threads * PerThread}", lines);
        Assert.Contains($"concurrent_latency_sum {Threads * PerThread / 2}", lines);
    }

    [Fact]
    public void RecordingIntoAnExistingSeriesDoesNotAllocate()
    {
        Counter<long> counter = _meter.CreateCounter<long>("hot");
        Histogram<double> histogram = _meter.CreateHistogram<double>("hot.latency");
        var tag = new KeyValuePair<string, object?>("room", "lobby");
        void RecordAll()
        {
            counter.Add(1);
            counter.Add(1, tag);
            histogram.Record(0.01);
            histogram.Record(0.01, tag);
        }

        RecordAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            RecordAll();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void InstrumentsOfADisposedMeterAreNoLongerExported()
    {
        using var meter = new Meter("test-" + Guid.NewGuid());
        using var exporter = new PrometheusExporter(meter);
        meter.CreateCounter<long>("gone").Add(1);

        meter.Dispose();

        Assert.Equal("", exporter.Render());
    }

    [Fact]
    public void RenderingAfterDisposeThrows()
    {
        _exporter.Dispose();

        Assert.Throws<ObjectDisposedException>(() => _exporter.Render());
    }

    [Fact]
    public void ContentTypeIsThePrometheusTextFormat()
    {
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusExporter.ContentType);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
