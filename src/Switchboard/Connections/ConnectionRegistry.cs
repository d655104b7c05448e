using System.Collections.Concurrent;
using Switchboard.Metrics;

namespace Switchboard.Connections;

/// <summary>
/// Every live connection of this node, whatever its endpoint: what graceful shutdown closes, what the
/// connections gauge counts, and what tests watch drain to zero.
/// </summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private TaskCompletionSource _empty = NewSignal(completed: true);

    /// <summary>Creates the registry and the gauges that watch it.</summary>
    public ConnectionRegistry(SwitchboardMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        metrics.Meter.CreateObservableGauge("switchboard.connections", () => Count, description: "Open WebSocket connections on all endpoints.");
        metrics.Meter.CreateObservableGauge("switchboard.queue.messages", () => Sum(c => c.QueuedMessages), description: "Messages waiting in all outbound queues.");
        metrics.Meter.CreateObservableGauge("switchboard.queue.bytes", () => Sum(c => c.QueuedBytes), description: "Bytes waiting in all outbound queues.");
    }

    /// <summary>The number of live connections.</summary>
    public int Count => _connections.Count;

    /// <summary>A snapshot of the live connections.</summary>
    public IReadOnlyCollection<Connection> Snapshot() => _connections.Values.ToArray();

    /// <summary>Visits every live connection without copying the set (for periodic sweeps).</summary>
    internal void ForEach(Action<Connection> visit)
    {
        foreach (var (_, connection) in _connections)
        {
            visit(connection);
        }
    }

    internal void Add(Connection connection)
    {
        lock (_connections)
        {
            _connections[connection.Id] = connection;
            if (_empty.Task.IsCompleted)
            {
                _empty = NewSignal(completed: false);
            }
        }
    }

    internal void Remove(Connection connection)
    {
        lock (_connections)
        {
            if (_connections.TryRemove(connection.Id, out _) && _connections.IsEmpty)
            {
                _empty.TrySetResult();
            }
        }
    }

    /// <summary>Completes when no connection is left, or when <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitUntilEmptyAsync(CancellationToken cancellationToken)
    {
        Task empty;
        lock (_connections)
        {
            empty = _empty.Task;
        }

        return empty.WaitAsync(cancellationToken);
    }

    private long Sum(Func<Connection, long> value)
    {
        long total = 0;
        foreach (var (_, connection) in _connections)
        {
            total += value(connection);
        }

        return total;
    }

    private static TaskCompletionSource NewSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }

        return signal;
    }
}
