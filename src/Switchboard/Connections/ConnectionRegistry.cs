using System.Collections.Concurrent;

namespace Switchboard.Connections;

/// <summary>
/// Every live connection of this node, whatever its endpoint: what graceful shutdown closes, what the
/// connections gauge counts, and what tests watch drain to zero.
/// </summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private TaskCompletionSource _empty = NewSignal(completed: true);

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
