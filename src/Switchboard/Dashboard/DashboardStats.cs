using System.Diagnostics.Metrics;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Hub;
using Switchboard.Metrics;
using Switchboard.Options;

namespace Switchboard.Dashboard;

/// <summary>
/// Samples the node once a second for the dashboard: the <c>Switchboard</c> meter's instruments
/// through a <see cref="MeterListener"/> (the numbers <c>/metrics</c> exports), the hub's rooms, the
/// stream tops of the biggest rooms, and the node directory. Each sample is encoded to JSON once and
/// the same string goes to every watcher of <c>/dashboard/stats</c>.
/// </summary>
internal sealed partial class DashboardStats : BackgroundService
{
    /// <summary>How often a sample is taken and pushed.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Samples kept for the chart a new watcher starts with: five minutes.</summary>
    public const int HistoryLength = 300;

    /// <summary>
    /// Rooms whose stream top is read each second while someone watches: one broker read each, so the
    /// cost is bounded whatever the number of rooms. The busiest-rooms list is drawn from these.
    /// </summary>
    public const int TrackedRooms = 20;

    /// <summary>Rooms listed in each of the two tables.</summary>
    public const int ListedRooms = 10;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SwitchboardHub _hub;
    private readonly IBroker _broker;
    private readonly INodeDirectory _nodes;
    private readonly TimeProvider _time;
    private readonly ILogger<DashboardStats> _logger;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly string _brokerName;
    private readonly MeterListener _listener;
    private readonly Lock _instrumentsLock = new();
    private readonly List<InstrumentTally> _instruments = [];
    private readonly Lock _historyLock = new();
    private readonly Queue<StatsSample> _history = new();
    private Frame _latest = new(null);
    private int _watchers;

    public DashboardStats(SwitchboardMetrics metrics, SwitchboardHub hub, IBroker broker, INodeDirectory nodes, TimeProvider time, IOptions<SwitchboardOptions> options, IHostApplicationLifetime lifetime, ILogger<DashboardStats> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        _hub = hub;
        _broker = broker;
        _nodes = nodes;
        _time = time;
        _logger = logger;
        _lifetime = lifetime;
        _brokerName = options.Value.Broker;
        var meter = metrics.Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                // This node's meter only: two servers in one process each see their own numbers.
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    var tally = new InstrumentTally(instrument.Name, instrument.IsObservable);
                    lock (_instrumentsLock)
                    {
                        _instruments.Add(tally);
                    }

                    listener.EnableMeasurementEvents(instrument, tally);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentTally)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentTally)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>
    /// The stream of one watcher: first a <c>history</c> event (the last minutes of rates), then a
    /// <c>stats</c> event with the latest snapshot and one more each second, until the request or the
    /// host ends.
    /// </summary>
    public async IAsyncEnumerable<SseItem<string>> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _watchers);
        // Ends with the request, or as soon as the host starts stopping: Kestrel stops before the hosted
        // services and waits for open responses, so an endless one would hold the shutdown up.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.ApplicationStopping);
        try
        {
            string history;
            lock (_historyLock)
            {
                history = JsonSerializer.Serialize(new { samples = _history.ToArray() }, Json);
            }

            yield return new SseItem<string>(history, "history");
            var frame = Volatile.Read(ref _latest);
            while (true)
            {
                if (frame.Json is not null)
                {
                    yield return new SseItem<string>(frame.Json, "stats");
                }

                try
                {
                    frame = await frame.Next.Task.WaitAsync(ending.Token);
                }
                catch (OperationCanceledException)
                {
                    // The watcher went away, or the host is stopping.
                    yield break;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _watchers);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        var previous = new Reading(_time.GetTimestamp(), Totals(), []);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    previous = await SampleAsync(previous, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A dashboard fault must never stop the node (a BackgroundService that throws stops
                    // the host): log it and sample again next second.
                    Log.SampleFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
        finally
        {
            // Ends every watcher's stream, so open dashboards do not hold the shutdown up.
            Volatile.Read(ref _latest).Next.TrySetCanceled(stoppingToken);
        }
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    /// <summary>One published sample; <see cref="Next"/> completes with the one after it.</summary>
    private sealed class Frame(string? json)
    {
        public string? Json { get; } = json;

        public TaskCompletionSource<Frame> Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>What one sample saw, for the rates of the next: when, the counter totals, the tracked rooms' tops.</summary>
    private sealed record Reading(long Timestamp, Dictionary<string, long> Totals, Dictionary<string, StreamPositionAt> Tops);

    private readonly record struct StreamPositionAt(ulong Offset, string Epoch);
}
