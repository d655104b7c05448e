using System.Diagnostics;
using System.Globalization;
using Switchboard.Load.Cli;
using Switchboard.Load.Client;
using Switchboard.Load.Cluster;

namespace Switchboard.Load.Modes;

/// <summary>What every mode needs: the options, this process's place in the cluster, the connector and the run's deadline.</summary>
internal sealed class RunContext
{
    public RunContext(LoadOptions options, LoadCluster cluster, WebSocketConnector connector, CancellationToken abort)
    {
        Options = options;
        Cluster = cluster;
        Connector = connector;
        Abort = abort;
    }

    public LoadOptions Options { get; }

    public LoadCluster Cluster { get; }

    public WebSocketConnector Connector { get; }

    /// <summary>Cancelled at the run's deadline, on Ctrl+C, or when a worker's coordinator goes away.</summary>
    public CancellationToken Abort { get; }

    /// <summary>Prints a progress line; workers stay quiet (their stdout carries the cluster protocol).</summary>
    public void Progress(string line)
    {
        if (!Cluster.IsWorker)
        {
            Console.WriteLine(line);
        }
    }

    /// <summary>
    /// The URL for one connection, with its user id (honoured by a server that allows the development
    /// <c>?user=</c>, ignored otherwise). Clients are <c>load-N</c>, or spread over <c>--users</c> ids;
    /// publishers always have their own.
    /// </summary>
    /// <param name="publisher">Whether the connection is a publisher.</param>
    /// <param name="localIndex">The connection's index within this process.</param>
    public Uri UserUri(bool publisher, int localIndex)
    {
        var user = publisher
            ? string.Create(CultureInfo.InvariantCulture, $"pub-{Options.WorkerIndex}-{localIndex}")
            : string.Create(CultureInfo.InvariantCulture, $"load-{(Options.Users > 0 ? (Options.FirstClientIndex + localIndex) % Options.Users : Options.FirstClientIndex + localIndex)}");
        return WithUser(Options.Url, user);
    }

    /// <summary><paramref name="url"/> with the development identity <c>?user=</c> added to its query.</summary>
    public static Uri WithUser(Uri url, string user)
    {
        var builder = new UriBuilder(url);
        var query = builder.Query.TrimStart('?');
        builder.Query = query.Length == 0 ? $"user={user}" : $"{query}&user={user}";
        return builder.Uri;
    }

    /// <summary>Seconds between two <see cref="Stopwatch"/> timestamps.</summary>
    public static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    /// <summary>Prints <paramref name="describe"/>() once a second until <paramref name="stop"/> is cancelled.</summary>
    public async Task TickAsync(Func<string> describe, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                Progress(describe());
            }
        }
        catch (OperationCanceledException)
        {
            // The phase being reported on is over.
        }
    }

    /// <summary>
    /// Opens and closes this process's share of <c>--warmup-connections</c> (joining
    /// <paramref name="room"/> when set), outside any measurement.
    /// </summary>
    public async Task WarmUpAsync(string? room)
    {
        var count = Options.WarmupConnections / Options.Processes;
        if (count == 0)
        {
            return;
        }

        Progress($"  warm-up: opening and closing {Options.WarmupConnections:N0} connections");
        var opener = new ConnectionOpener(Connector, new LoadCounters(recordLatency: false), new ConnectionSettings(1024, RecordLatency: false, TimeSpan.FromSeconds(30)));
        var specs = Enumerable.Range(0, count).Select(i => new ConnectionSpec(UserUri(publisher: false, i), room)).ToList();
        var connections = await opener.OpenAllAsync(specs, Options.ConnectConcurrency, Abort);
        await ConnectionOpener.CloseAllAsync(connections, Options.ConnectConcurrency);
    }

    /// <summary>Opens <paramref name="specs"/> with progress lines, bounded by the run's deadline.</summary>
    public async Task<BenchConnection?[]> OpenWithProgressAsync(ConnectionOpener opener, IReadOnlyList<ConnectionSpec> specs, string what)
    {
        using var ticking = CancellationTokenSource.CreateLinkedTokenSource(Abort);
        var ticker = TickAsync(() => $"  {what}: {opener.Opened:N0}/{specs.Count:N0} open, {opener.Failures:N0} failed", ticking.Token);
        var connections = await opener.OpenAllAsync(specs, Options.ConnectConcurrency, Abort);
        await ticking.CancelAsync();
        await ticker;
        return connections;
    }
}
