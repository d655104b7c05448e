using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Client;

/// <summary>
/// Opens many connections with a bounded number of attempts in flight, timing each one
/// (handshake, welcome and, when joining, the join reply), and closes them all again.
/// </summary>
internal sealed class ConnectionOpener
{
    private const int MaxFailureSamples = 5;

    private readonly WebSocketConnector _connector;
    private readonly LoadCounters _counters;
    private readonly ConnectionSettings _settings;
    private readonly ConcurrentQueue<string> _failureSamples = new();
    private long _failures;
    private long _opened;

    public ConnectionOpener(WebSocketConnector connector, LoadCounters counters, ConnectionSettings settings)
    {
        _connector = connector;
        _counters = counters;
        _settings = settings;
    }

    /// <summary>Time from starting an attempt to a usable connection, successful attempts only.</summary>
    public LatencyHistogram SetupLatency { get; } = new();

    public long Failures => Volatile.Read(ref _failures);

    public long Opened => Volatile.Read(ref _opened);

    public IReadOnlyCollection<string> FailureSamples => _failureSamples;

    /// <summary>
    /// Opens <paramref name="specs"/>; the result has one slot per spec, null where the attempt failed.
    /// </summary>
    public async Task<BenchConnection?[]> OpenAllAsync(IReadOnlyList<ConnectionSpec> specs, int concurrency, CancellationToken cancellationToken)
    {
        var connections = new BenchConnection?[specs.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, specs.Count), options, async (i, ct) =>
            {
                connections[i] = await OpenOneAsync(specs[i], ct);
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Deadline or Ctrl+C: the run reports and closes what did open.
        }

        return connections;
    }

    /// <summary>Closes every open connection, a bounded number at a time.</summary>
    public static async Task CloseAllAsync(IEnumerable<BenchConnection?> connections, int concurrency)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(concurrency, 64) };
        await Parallel.ForEachAsync(connections.OfType<BenchConnection>(), options, async (connection, _) => await connection.CloseAsync());
    }

    private async Task<BenchConnection?> OpenOneAsync(ConnectionSpec spec, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var connection = await BenchConnection.OpenAsync(_connector, spec.Uri, _counters, spec.Room, _settings, cancellationToken);
            SetupLatency.RecordTicks(Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _opened);
            return connection;
        }
        catch (Exception ex) when (ex is WebSocketException or SocketException or IOException or SetupException or HttpRequestException
                                       || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (Interlocked.Increment(ref _failures) <= MaxFailureSamples)
            {
                _failureSamples.Enqueue($"{spec.Uri}: {Describe(ex)}");
            }

            return null;
        }
    }

    private static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += $" <- {inner.Message}";
        }

        return message;
    }
}

/// <summary>Where one connection goes and which room it joins (null: none).</summary>
internal sealed record ConnectionSpec(Uri Uri, string? Room);
