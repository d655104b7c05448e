using Switchboard.Load.Cli;
using Switchboard.Load.Client;
using Switchboard.Load.Cluster;
using Switchboard.Load.Modes;
using Switchboard.Load.Reporting;

namespace Switchboard.Load;

/// <summary>Runs one mode in this process (and its workers), then reports and decides the exit code.</summary>
internal static class LoadRunner
{
    /// <summary>Exit code for a run that finished but lost messages, missed a budget or was cut short.</summary>
    public const int Failed = 1;

    private static readonly TimeSpan CollectTimeout = TimeSpan.FromMinutes(2);

    public static async Task<int> RunAsync(LoadOptions options, string[] rawArgs, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Deadline);
        await using var cluster = LoadCluster.Start(options, rawArgs);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cluster.CoordinatorGone);
        using var connector = new WebSocketConnector(options.Target, options.SourceAddresses, options.Deflate);
        var context = new RunContext(options, cluster, connector, abort.Token);

        var loadAtStart = Metrics.CpuMeter.LoadAverage();
        RunResult result;
        try
        {
            result = options.Mode switch
            {
                LoadMode.Fanout or LoadMode.Latency => await RoomLoadMode.RunAsync(context),
                LoadMode.Connect => await ConnectMode.RunAsync(context),
                LoadMode.Idle => await IdleMode.RunAsync(context),
                _ => throw new InvalidOperationException($"unknown mode {options.Mode}"),
            };
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            var why = cancellationToken.IsCancellationRequested ? "interrupted" : cluster.CoordinatorGone.IsCancellationRequested ? "coordinator went away" : $"deadline of {options.Deadline.TotalSeconds:N0} s passed";
            await Console.Error.WriteLineAsync($"run aborted: {why}");
            return Failed;
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync($"run failed: {ex.Message}");
            return Failed;
        }

        result.Processes = options.Processes;
        result.LoadAverageStart = loadAtStart;
        result.LoadAverageEnd = Metrics.CpuMeter.LoadAverage();
        if (cluster.IsWorker)
        {
            cluster.SubmitResult(result);
            return 0;
        }

        using var collect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        collect.CancelAfter(CollectTimeout);
        IReadOnlyList<RunResult> workers;
        try
        {
            workers = await cluster.CollectResultsAsync(collect.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"run failed: could not collect the workers' results: {ex.Message}");
            return Failed;
        }

        var merged = RunResult.Merge(result, workers);
        var verdict = Verdict.Evaluate(merged, options);
        ReportPrinter.Print(merged, options, verdict);
        if (options.Json)
        {
            Console.WriteLine(RunResultJson.Serialize(merged));
        }

        return verdict.Passed ? 0 : Failed;
    }
}
