using System.Collections.Concurrent;
using System.Globalization;
using Switchboard.Load.Cli;
using Switchboard.Load.Reporting;

namespace Switchboard.Load.Cluster;

/// <summary>
/// Spreads one run over several processes of this tool, since one process can hold only about
/// 19,000 sockets. The coordinator relaunches itself with <c>--worker-index i</c>; the two sides
/// talk in lines over the worker's stdin and stdout:
/// <list type="bullet">
/// <item>worker → coordinator: <c>READY phase</c>, then once <c>RESULT {json}</c>;</item>
/// <item>coordinator → worker: <c>GO phase</c> (everyone reached the phase) and <c>SET name value</c>.</item>
/// </list>
/// All processes share the machine's monotonic clock, so <see cref="System.Diagnostics.Stopwatch"/>
/// timestamps travel between them unchanged. With one process every call is a no-op.
/// </summary>
internal sealed partial class LoadCluster : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _signals = new(StringComparer.Ordinal);

    private LoadCluster(ClusterRole role, int processes)
    {
        Role = role;
        Processes = processes;
    }

    public ClusterRole Role { get; }

    public int Processes { get; }

    public bool IsWorker => Role == ClusterRole.Worker;

    /// <summary>Starts the cluster for <paramref name="options"/>: launches workers when this is the coordinator.</summary>
    public static LoadCluster Start(LoadOptions options, string[] rawArgs)
    {
        if (options.IsWorker)
        {
            var worker = new LoadCluster(ClusterRole.Worker, options.Processes);
            worker.StartReadingCoordinator();
            return worker;
        }

        if (options.Processes == 1)
        {
            return new LoadCluster(ClusterRole.Single, 1);
        }

        var coordinator = new LoadCluster(ClusterRole.Coordinator, options.Processes);
        coordinator.LaunchWorkers(rawArgs);
        return coordinator;
    }

    /// <summary>
    /// Waits until every process has reached <paramref name="phase"/>. Workers report and wait for
    /// the coordinator's go; the coordinator waits for all reports, then lets everyone go on.
    /// </summary>
    public async Task BarrierAsync(string phase, CancellationToken cancellationToken)
    {
        switch (Role)
        {
            case ClusterRole.Worker:
                WriteToCoordinator($"READY {phase}");
                await Signal($"go:{phase}").Task.WaitAsync(cancellationToken);
                break;
            case ClusterRole.Coordinator:
                await Task.WhenAny(Signal($"ready:{phase}").Task, _workerFailed.Task).Unwrap().WaitAsync(cancellationToken);
                Broadcast($"GO {phase}");
                break;
            default:
                break;
        }
    }

    /// <summary>Coordinator: tells every worker a named value (an offset, a timestamp).</summary>
    public void Announce(string name, long value)
    {
        if (Role == ClusterRole.Coordinator)
        {
            Broadcast(string.Create(CultureInfo.InvariantCulture, $"SET {name} {value}"));
        }
    }

    /// <summary>Worker: runs <paramref name="handler"/> on the stdin reader as soon as <paramref name="name"/> is announced.</summary>
    public void OnAnnouncement(string name, Action<long> handler) => _handlers[name] = handler;

    /// <summary>Worker: waits for the value the coordinator announces under <paramref name="name"/>.</summary>
    public Task<long> WaitForAnnouncementAsync(string name, CancellationToken cancellationToken) =>
        Signal($"set:{name}").Task.WaitAsync(cancellationToken);

    private TaskCompletionSource<long> Signal(string key) =>
        _signals.GetOrAdd(key, static _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Worker: sends this process's result to the coordinator.</summary>
    public void SubmitResult(RunResult result) => WriteToCoordinator($"RESULT {RunResultJson.Serialize(result)}");

    public async ValueTask DisposeAsync()
    {
        if (Role == ClusterRole.Coordinator)
        {
            await StopWorkersAsync();
        }
    }
}
