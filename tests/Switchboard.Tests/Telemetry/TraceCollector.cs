using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Telemetry;

namespace Switchboard.Tests.Telemetry;

/// <summary>
/// Records the spans of the traces one test owns, from Switchboard and from ASP.NET Core (for the
/// request spans Switchboard's spans hang under).
/// </summary>
/// <remarks>
/// An <see cref="ActivityListener"/> is process-wide and the other test classes run at the same time,
/// in the same process. So the collector samples strictly: spans whose parent is in one of its traces
/// (a <see cref="TraceParent"/> it handed out, or a trace it started), and root spans whose
/// <c>messaging.destination.name</c> creation tag is one of its rooms. Everything else it leaves
/// unsampled, so tests that count on nobody tracing their rooms are not disturbed, and it records only
/// its own traces, whatever other collectors sample.
/// </remarks>
public sealed class TraceCollector : IDisposable
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    private readonly ConcurrentDictionary<ActivityTraceId, bool> _traces = new();
    private readonly ConcurrentDictionary<string, bool> _destinations = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TraceCollector()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is SwitchboardTracing.SourceName or AspNetCoreSource,
            Sample = Sample,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>A new upstream trace context whose trace this collector records.</summary>
    public TraceParent NewTrace()
    {
        var parent = TraceParent.New();
        _traces[parent.TraceId] = true;
        return parent;
    }

    /// <summary>Records the traces of spans started about <paramref name="destination"/> (a room or a user) with no parent.</summary>
    public void Watch(string destination) => _destinations[destination] = true;

    /// <summary>The spans recorded so far.</summary>
    public IReadOnlyList<Activity> Spans
    {
        get
        {
            lock (_lock)
            {
                return [.. _stopped];
            }
        }
    }

    /// <summary>Waits until a span matching <paramref name="match"/> has stopped, and returns it.</summary>
    public async Task<Activity> SpanAsync(Func<Activity, bool> match, string what, TimeSpan? timeout = null) =>
        (await SpansAsync(match, 1, what, timeout))[0];

    /// <summary>Waits until <paramref name="count"/> spans matching <paramref name="match"/> have stopped, and returns them.</summary>
    public async Task<IReadOnlyList<Activity>> SpansAsync(Func<Activity, bool> match, int count, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var found = _stopped.Where(match).Take(count).ToList();
                if (found.Count == count)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            try
            {
                await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no span {what} stopped; recorded: {Describe()}");
            }
        }
    }

    /// <summary>The recorded spans, one per line, for a failure message.</summary>
    public string Describe() =>
        string.Join(Environment.NewLine, Spans.Select(s => $"{s.Source.Name} {s.OperationName} {s.Kind} trace={s.TraceId} span={s.SpanId} parent={s.ParentSpanId} {string.Join(',', s.TagObjects.Select(t => $"{t.Key}={t.Value}"))}"));

    public void Dispose() => _listener.Dispose();

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        if (options.Parent != default)
        {
            return _traces.ContainsKey(options.Parent.TraceId) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None;
        }

        if (options.Source.Name == SwitchboardTracing.SourceName && options.Tags is { } tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "messaging.destination.name" && tag.Value is string destination && _destinations.ContainsKey(destination))
                {
                    // The id this root span is about to get: its children are then sampled by parent.
                    _traces[options.TraceId] = true;
                    return ActivitySamplingResult.AllDataAndRecorded;
                }
            }
        }

        return ActivitySamplingResult.None;
    }

    private void OnStopped(Activity activity)
    {
        if (!_traces.ContainsKey(activity.TraceId))
        {
            return;
        }

        TaskCompletionSource changed;
        lock (_lock)
        {
            _stopped.Add(activity);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
