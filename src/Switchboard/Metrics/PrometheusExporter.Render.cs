using System.Globalization;
using System.Text;

namespace Switchboard.Metrics;

public sealed partial class PrometheusExporter
{
    /// <summary>
    /// Collects the observable instruments and renders every series of the meter in the Prometheus text
    /// exposition format 0.0.4 (<see cref="ContentType"/>), sorted by metric name and then by labels.
    /// </summary>
    /// <returns>The exposition text, one line per sample, each ending in a line feed.</returns>
    /// <exception cref="ObjectDisposedException">The exporter has been disposed.</exception>
    public string Render()
    {
        lock (_renderLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            MetricFamily[] families;
            lock (_familiesLock)
            {
                families = [.. _families];
            }

            foreach (MetricFamily family in families)
            {
                if (family.IsObservable)
                {
                    family.ResetObserved();
                }
            }

            _listener.RecordObservableInstruments();

            Array.Sort(families, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var text = new StringBuilder(capacity: 4096);
            foreach (MetricFamily family in families)
            {
                WriteFamily(text, family);
            }

            return text.ToString();
        }
    }

    private static void WriteFamily(StringBuilder text, MetricFamily family)
    {
        List<KeyValuePair<string, Series>> samples = family.Snapshot();
        if (samples.Count == 0)
        {
            return;
        }

        if (family.Help.Length > 0)
        {
            text.Append("# HELP ").Append(family.Name).Append(' ');
            foreach (char c in family.Help)
            {
                _ = c switch
                {
                    '\\' => text.Append(@"\\"),
                    '\n' => text.Append(@"\n"),
                    _ => text.Append(c),
                };
            }

            text.Append('\n');
        }

        text.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type).Append('\n');
        foreach ((string seriesLabels, Series series) in samples)
        {
            string labels = family.ConstantLabels.Length == 0 ? seriesLabels
                : seriesLabels.Length == 0 ? family.ConstantLabels
                : family.ConstantLabels + "," + seriesLabels;
            if (family.Aggregation == Aggregation.Histogram)
            {
                WriteHistogram(text, family, labels, series);
            }
            else if (family.IsFloating)
            {
                WriteSample(text, family.Name, "", labels, null, FormatDouble(Volatile.Read(ref series.Floating)));
            }
            else
            {
                WriteSample(text, family.Name, "", labels, null, Volatile.Read(ref series.Integral).ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    private static void WriteHistogram(StringBuilder text, MetricFamily family, string labels, Series series)
    {
        // Buckets are stored per interval and summed here, so +Inf and _count agree even while recording races the scrape.
        long cumulative = 0;
        for (int i = 0; i < series.Buckets!.Length; i++)
        {
            cumulative += Interlocked.Read(ref series.Buckets[i]);
            string le = i < family.BucketLabels!.Length ? family.BucketLabels[i] : "+Inf";
            WriteSample(text, family.Name, "_bucket", labels, le, cumulative.ToString(CultureInfo.InvariantCulture));
        }

        WriteSample(text, family.Name, "_sum", labels, null, FormatDouble(Volatile.Read(ref series.Floating)));
        WriteSample(text, family.Name, "_count", labels, null, cumulative.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteSample(StringBuilder text, string name, string suffix, string labels, string? le, string value)
    {
        text.Append(name).Append(suffix);
        if (labels.Length > 0 || le is not null)
        {
            text.Append('{').Append(labels);
            if (le is not null)
            {
                text.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(value).Append('\n');
    }

    private static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Formats a tag set as Prometheus label text (<c>a="x",b="y"</c>), sorted by key so order never splits a series.</summary>
    private sealed class LabelWriter
    {
        [ThreadStatic]
        private static LabelWriter? t_current;

        private char[] _buffer = new char[256];
        private int _length;

        /// <summary>Formats into this thread's buffer; the span is valid until the thread formats again.</summary>
        public static ReadOnlySpan<char> FormatInBuffer(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            LabelWriter writer = t_current ??= new LabelWriter();
            writer.Write(tags);
            return writer._buffer.AsSpan(0, writer._length);
        }

        public static string Format(ReadOnlySpan<KeyValuePair<string, object?>> tags) => new(FormatInBuffer(tags));

        private void Write(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            _length = 0;
            Span<int> order = tags.Length <= 32 ? stackalloc int[tags.Length] : new int[tags.Length];
            for (int i = 0; i < order.Length; i++)
            {
                // Insertion sort: tag sets are tiny and usually already in order.
                int j = i;
                while (j > 0 && string.CompareOrdinal(tags[order[j - 1]].Key, tags[i].Key) > 0)
                {
                    order[j] = order[j - 1];
                    j--;
                }

                order[j] = i;
            }

            for (int i = 0; i < order.Length; i++)
            {
                KeyValuePair<string, object?> tag = tags[order[i]];
                if (i > 0)
                {
                    Append(',');
                }

                AppendLabelName(tag.Key ?? "");
                Append('=');
                Append('"');
                AppendValue(tag.Value);
                Append('"');
            }
        }

        private void AppendLabelName(string key)
        {
            if (key.Length == 0 || char.IsAsciiDigit(key[0]))
            {
                Append('_');
            }

            foreach (char c in key)
            {
                Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
            }
        }

        private void AppendValue(object? value)
        {
            switch (value)
            {
                case null:
                    return;
                case string s:
                    AppendEscaped(s);
                    return;
                case bool b:
                    AppendEscaped(b ? "true" : "false");
                    return;
                case ISpanFormattable formattable:
                    Span<char> scratch = stackalloc char[64];
                    if (formattable.TryFormat(scratch, out int written, default, CultureInfo.InvariantCulture))
                    {
                        AppendEscaped(scratch[..written]);
                        return;
                    }

                    break;
            }

            AppendEscaped(Convert.ToString(value, CultureInfo.InvariantCulture));
        }

        private void AppendEscaped(ReadOnlySpan<char> value)
        {
            foreach (char c in value)
            {
                switch (c)
                {
                    case '\\':
                        Append('\\');
                        Append('\\');
                        break;
                    case '"':
                        Append('\\');
                        Append('"');
                        break;
                    case '\n':
                        Append('\\');
                        Append('n');
                        break;
                    default:
                        Append(c);
                        break;
                }
            }
        }

        private void Append(char c)
        {
            if (_length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            _buffer[_length++] = c;
        }
    }
}
