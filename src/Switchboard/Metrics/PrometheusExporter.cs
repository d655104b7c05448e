using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Switchboard.Metrics;

/// <summary>
/// Exposes the instruments of one <see cref="Meter"/> in the Prometheus text exposition format 0.0.4,
/// so a <c>/metrics</c> endpoint needs no exporter package.
/// </summary>
/// <remarks>
/// Instruments are matched by <see cref="Meter"/> reference, not by name, so two servers in one process
/// (as in integration tests) each export only their own measurements. Counters and up-down counters are
/// summed; gauges and observable instruments keep the last value reported; histograms count into fixed
/// buckets (seconds by default, or the boundaries advised by the instrument). Measurements of
/// <see cref="int"/>, <see cref="long"/>, <see cref="float"/> and <see cref="double"/> are supported.
/// </remarks>
public sealed partial class PrometheusExporter : IDisposable
{
    /// <summary>The HTTP content type of the text that <see cref="Render"/> produces.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Spans sub-millisecond in-process work up to the ten-second timeouts a WebSocket server deals in.
    private static readonly double[] DefaultBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly MeterListener _listener;
    private readonly Lock _familiesLock = new();
    private readonly List<MetricFamily> _families = [];

    // Serializes scrapes: observable series are cleared and refilled by each one.
    private readonly Lock _renderLock = new();
    private bool _disposed;

    /// <summary>Starts listening to every instrument of <paramref name="meter"/>, present and future.</summary>
    /// <param name="meter">The meter whose instruments are exported; instruments of other meters are ignored.</param>
    public PrometheusExporter(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _meter = meter;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        // The family travels as the listener's per-instrument state, so the hot path needs no lookup by instrument.
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Stops listening; <see cref="Render"/> throws afterwards.</summary>
    public void Dispose()
    {
        lock (_renderLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _listener.Dispose();
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!ReferenceEquals(instrument.Meter, _meter) || !instrument.GetType().IsGenericType)
        {
            return;
        }

        Type definition = instrument.GetType().GetGenericTypeDefinition();
        (string Type, Aggregation Aggregation)? kind =
            definition == typeof(Counter<>) ? ("counter", Aggregation.Sum)
            : definition == typeof(UpDownCounter<>) ? ("gauge", Aggregation.Sum)
            : definition == typeof(ObservableCounter<>) ? ("counter", Aggregation.LastValue)
            : definition == typeof(ObservableUpDownCounter<>) ? ("gauge", Aggregation.LastValue)
            : definition == typeof(ObservableGauge<>) ? ("gauge", Aggregation.LastValue)
            : definition == typeof(Gauge<>) ? ("gauge", Aggregation.LastValue)
            : definition == typeof(Histogram<>) ? ("histogram", Aggregation.Histogram)
            : null;
        if (kind is not { } k)
        {
            return;
        }

        string name = SanitizeMetricName(instrument.Name);
        if (k.Type == "counter" && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        var family = new MetricFamily(
            name,
            instrument.Description ?? "",
            k.Type,
            k.Aggregation,
            instrument.IsObservable,
            // Observable instruments do not derive from Instrument<T>, so ask the type argument.
            isFloating: instrument.GetType().GetGenericArguments()[0] is var t && (t == typeof(double) || t == typeof(float)),
            k.Aggregation == Aggregation.Histogram ? BucketBoundaries(instrument) : null,
            LabelWriter.Format(instrument.Tags?.ToArray() ?? []));
        lock (_familiesLock)
        {
            _families.Add(family);
        }

        listener.EnableMeasurementEvents(instrument, family);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        lock (_familiesLock)
        {
            _families.Remove((MetricFamily)state!);
        }
    }

    private static double[] BucketBoundaries(Instrument instrument)
    {
        IEnumerable<double>? advised = instrument switch
        {
            Instrument<double> { Advice.HistogramBucketBoundaries: { } b } => b,
            Instrument<float> { Advice.HistogramBucketBoundaries: { } b } => b.Select(x => (double)x),
            Instrument<long> { Advice.HistogramBucketBoundaries: { } b } => b.Select(x => (double)x),
            Instrument<int> { Advice.HistogramBucketBoundaries: { } b } => b.Select(x => (double)x),
            _ => null,
        };
        // InstrumentAdvice already insists on ascending, distinct bounds; +Inf is always added when rendering.
        double[]? bounds = advised?.Where(double.IsFinite).ToArray();
        return bounds is { Length: > 0 } ? bounds : DefaultBuckets;
    }

    private static string SanitizeMetricName(string name)
    {
        return string.Create(name.Length + (name.Length == 0 || char.IsAsciiDigit(name[0]) ? 1 : 0), name, static (span, source) =>
        {
            int offset = span.Length - source.Length;
            span[0] = '_';
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[offset + i] = char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_';
            }
        });
    }

    private enum Aggregation
    {
        Sum,
        LastValue,
        Histogram,
    }

    /// <summary>The running values for one distinct label set of one instrument.</summary>
    private sealed class Series(int bucketCount)
    {
        public long Integral;
        public double Floating; // the value of floating-point instruments, the sum of histograms
        public readonly long[]? Buckets = bucketCount > 0 ? new long[bucketCount] : null;
        public bool HasValue;
    }

    /// <summary>One instrument and every series recorded for it.</summary>
    private sealed class MetricFamily
    {
        private readonly ConcurrentDictionary<string, Series> _tagged = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Series>.AlternateLookup<ReadOnlySpan<char>> _taggedBySpan;

        public MetricFamily(
            string name, string help, string type, Aggregation aggregation, bool isObservable, bool isFloating,
            double[]? bounds, string constantLabels)
        {
            Name = name;
            Help = help;
            Type = type;
            Aggregation = aggregation;
            IsObservable = isObservable;
            IsFloating = isFloating;
            Bounds = bounds;
            BucketLabels = bounds?.Select(b => b.ToString(CultureInfo.InvariantCulture)).ToArray();
            ConstantLabels = constantLabels;
            Untagged = NewSeries();
            _taggedBySpan = _tagged.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public string Name { get; }
        public string Help { get; }
        public string Type { get; }
        public Aggregation Aggregation { get; }
        public bool IsObservable { get; }
        public bool IsFloating { get; }
        public double[]? Bounds { get; }
        public string[]? BucketLabels { get; }
        public string ConstantLabels { get; }
        public Series Untagged { get; }

        public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Series series = tags.IsEmpty ? Untagged : GetTaggedSeries(tags);
            switch (Aggregation)
            {
                case Aggregation.Sum:
                    Interlocked.Add(ref series.Integral, value);
                    break;
                case Aggregation.LastValue:
                    Volatile.Write(ref series.Integral, value);
                    break;
                default:
                    Observe(series, value);
                    break;
            }

            MarkHasValue(series);
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Series series = tags.IsEmpty ? Untagged : GetTaggedSeries(tags);
            switch (Aggregation)
            {
                case Aggregation.Sum:
                    AddDouble(ref series.Floating, value);
                    break;
                case Aggregation.LastValue:
                    Volatile.Write(ref series.Floating, value);
                    break;
                default:
                    Observe(series, value);
                    break;
            }

            MarkHasValue(series);
        }

        /// <summary>Forgets observed series, so one whose callback stopped reporting it disappears from the next scrape.</summary>
        public void ResetObserved()
        {
            Volatile.Write(ref Untagged.HasValue, false);
            _tagged.Clear();
        }

        /// <summary>The series with values, the untagged one (empty label text) first, then by label text.</summary>
        public List<KeyValuePair<string, Series>> Snapshot()
        {
            var tagged = _tagged.ToList();
            tagged.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            if (Volatile.Read(ref Untagged.HasValue))
            {
                tagged.Insert(0, new KeyValuePair<string, Series>("", Untagged));
            }

            return tagged;
        }

        private Series NewSeries() => new(Bounds is null ? 0 : Bounds.Length + 1);

        private Series GetTaggedSeries(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Label text is built in a per-thread buffer and looked up as a span: only a new series allocates a key.
            ReadOnlySpan<char> key = LabelWriter.FormatInBuffer(tags);
            while (true)
            {
                if (_taggedBySpan.TryGetValue(key, out Series? series))
                {
                    return series;
                }

                series = NewSeries();
                if (_taggedBySpan.TryAdd(key, series))
                {
                    return series;
                }
            }
        }

        private void Observe(Series series, double value)
        {
            int index = Array.BinarySearch(Bounds!, value);
            // An exact match belongs to that bucket (le is inclusive); otherwise ~index is the first larger bound.
            Interlocked.Increment(ref series.Buckets![index < 0 ? ~index : index]);
            AddDouble(ref series.Floating, value);
        }

        private static void MarkHasValue(Series series)
        {
            // Read first so the steady state does not write to the flag at all.
            if (!series.HasValue)
            {
                Volatile.Write(ref series.HasValue, true);
            }
        }

        private static void AddDouble(ref double location, double value)
        {
            double current = Volatile.Read(ref location);
            while (true)
            {
                double seen = Interlocked.CompareExchange(ref location, current + value, current);
                // Bitwise, as CompareExchange compares: Equals would call -0.0 and 0.0 the same and lose an add.
                if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
                {
                    return;
                }

                current = seen;
            }
        }
    }
}
