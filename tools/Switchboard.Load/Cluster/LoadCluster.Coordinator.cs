using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Switchboard.Load.Reporting;

namespace Switchboard.Load.Cluster;

/// <summary>The coordinator's side: launches, listens to, steers and finally stops the workers.</summary>
internal sealed partial class LoadCluster
{
    private static readonly TimeSpan WorkerExitTimeout = TimeSpan.FromSeconds(15);

    private readonly List<Process> _workers = [];
    private readonly List<Task> _workerReaders = [];
    private readonly ConcurrentDictionary<string, int> _readyCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, RunResult> _results = new();
    private readonly TaskCompletionSource _workerFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allResults = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int WorkerCount => Processes - 1;

    /// <summary>Coordinator: waits for every worker's result (bounded by <paramref name="cancellationToken"/>).</summary>
    public async Task<IReadOnlyList<RunResult>> CollectResultsAsync(CancellationToken cancellationToken)
    {
        if (Role != ClusterRole.Coordinator)
        {
            return [];
        }

        await Task.WhenAny(_allResults.Task, _workerFailed.Task).Unwrap().WaitAsync(cancellationToken);
        return [.. _results.OrderBy(p => p.Key).Select(p => p.Value)];
    }

    private void LaunchWorkers(string[] rawArgs)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable");
        for (var index = 1; index < Processes; index++)
        {
            var start = new ProcessStartInfo(self)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };

            // Run through `dotnet tool.dll` or the apphost alike.
            if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                start.ArgumentList.Add(typeof(LoadCluster).Assembly.Location);
            }

            foreach (var arg in rawArgs)
            {
                start.ArgumentList.Add(arg);
            }

            start.ArgumentList.Add("--worker-index");
            start.ArgumentList.Add(index.ToString(CultureInfo.InvariantCulture));
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a worker process");
            _workers.Add(process);
            var workerIndex = index;
            _workerReaders.Add(Task.Run(() => ReadWorkerAsync(workerIndex, process)));
        }
    }

    private async Task ReadWorkerAsync(int index, Process process)
    {
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                var phase = line["READY ".Length..];
                if (_readyCounts.AddOrUpdate(phase, 1, static (_, n) => n + 1) == WorkerCount)
                {
                    Signal($"ready:{phase}").TrySetResult(0);
                }
            }
            else if (line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
                _results[index] = RunResultJson.Deserialize(line["RESULT ".Length..]);
                if (_results.Count == WorkerCount)
                {
                    _allResults.TrySetResult();
                }
            }
            else
            {
                await Console.Error.WriteLineAsync($"[worker {index}] {line}");
            }
        }

        await process.WaitForExitAsync();
        if (!_results.ContainsKey(index))
        {
            _workerFailed.TrySetException(new InvalidOperationException(
                $"worker {index} exited with code {process.ExitCode} before sending its result"));
        }
    }

    private void Broadcast(string line)
    {
        foreach (var worker in _workers)
        {
            try
            {
                worker.StandardInput.WriteLine(line);
                worker.StandardInput.Flush();
            }
            catch (IOException)
            {
                // That worker is gone; its reader reports it.
            }
        }
    }

    private async Task StopWorkersAsync()
    {
        foreach (var worker in _workers)
        {
            try
            {
                // End of input tells a worker the run is over; it closes its connections and exits.
                worker.StandardInput.Close();
            }
            catch (IOException)
            {
                // Already exited.
            }
        }

        foreach (var worker in _workers)
        {
            using var timeout = new CancellationTokenSource(WorkerExitTimeout);
            try
            {
                await worker.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Only this run's own child, by its handle: never by name.
                worker.Kill();
            }

            worker.Dispose();
        }

        await Task.WhenAll(_workerReaders).WaitAsync(WorkerExitTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
