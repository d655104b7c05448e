using System.Collections.Concurrent;
using System.Globalization;

namespace Switchboard.Dashboard;

/// <summary>
/// What the dashboard keeps of one instrument: a counter's running total (and its totals by the
/// <c>code</c> tag, for closes and errors), or an observable gauge's last value. Recorded from any
/// thread on the hot path, so it is lock-free.
/// </summary>
internal sealed class InstrumentTally(string name, bool isObservable)
{
    private const string CodeTag = "code";
    private readonly ConcurrentDictionary<string, long> _byCode = new(StringComparer.Ordinal);
    private long _value;

    /// <summary>The instrument name without the <c>switchboard.</c> prefix, for example <c>messages.in</c>.</summary>
    public string Name { get; } = name.StartsWith("switchboard.", StringComparison.Ordinal) ? name["switchboard.".Length..] : name;

    public bool IsObservable { get; } = isObservable;

    public long Value => Interlocked.Read(ref _value);

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (IsObservable)
        {
            Interlocked.Exchange(ref _value, value);
            return;
        }

        Interlocked.Add(ref _value, value);
        foreach (var tag in tags)
        {
            if (tag.Key == CodeTag)
            {
                var code = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "?";
                _byCode.AddOrUpdate(code, static (_, add) => add, static (_, total, add) => total + add, value);
            }
        }
    }

    /// <summary>Totals by code, ordered by code.</summary>
    public SortedDictionary<string, long> ByCode() => new(_byCode, StringComparer.Ordinal);
}
