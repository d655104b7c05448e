namespace Switchboard.Redis;

/// <summary>
/// Keeps this node's presence hash of one room in Redis in step with its local members. Requests are
/// coalesced: while one write is in flight, any number of requests share the next one, which
/// writes only what changed since the last success (or everything, when Redis's copy is unknown).
/// A join storm in a big room therefore costs a few writes of the changes, not one per join.
/// </summary>
internal sealed class PresenceWriter(string room, RedisBroker broker)
{
    private readonly Lock _lock = new();
    private Dictionary<string, int>? _written;
    private TaskCompletionSource? _next;
    private bool _running;
    private bool _closed;

    /// <summary>
    /// Completes once a write that started after this call succeeded; faults with
    /// <see cref="Brokers.BrokerUnavailableException"/> when it failed. With <paramref name="full"/>,
    /// that write replaces the whole hash (Redis may have lost it).
    /// </summary>
    public Task RequestAsync(bool full = false)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return Task.CompletedTask;
            }

            if (full)
            {
                _written = null;
            }

            _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var task = _next.Task;
            if (!_running)
            {
                _running = true;
                _ = WriteLoopAsync();
            }

            return task;
        }
    }

    /// <summary>
    /// Stops writing and removes this node's entry. The removal is issued under the lock, so no write
    /// of this writer can reach Redis after it.
    /// </summary>
    public Task CloseAndRemoveAsync()
    {
        lock (_lock)
        {
            _closed = true;
            _next?.TrySetResult();
            _next = null;
            return broker.RemovePresenceAsync(room);
        }
    }

    // Started by RequestAsync; its outcome reaches every requester through their shared task.
    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            TaskCompletionSource round;
            Task write;
            Dictionary<string, int> snapshot;
            lock (_lock)
            {
                if (_closed || _next is null)
                {
                    _running = false;
                    return;
                }

                round = _next;
                _next = null;
                snapshot = new Dictionary<string, int>(broker.Handler.LocalPresence(room), StringComparer.Ordinal);
                write = Issue(snapshot);
            }

            try
            {
                await write.ConfigureAwait(false);
                lock (_lock)
                {
                    _written = snapshot;
                }

                round.TrySetResult();
            }
            catch (Exception ex)
            {
                lock (_lock)
                {
                    // Whatever reached Redis is unknown now: the next write replaces the whole hash.
                    _written = null;
                }

                round.TrySetException(ex);
            }
        }
    }

    private Task Issue(Dictionary<string, int> snapshot)
    {
        var written = _written;
        if (written is null)
        {
            return broker.WritePresenceAsync(room, full: true, present: snapshot.Count > 0, snapshot, []);
        }

        var set = snapshot.Where(p => !written.TryGetValue(p.Key, out var count) || count != p.Value).ToList();
        var removed = written.Keys.Where(u => !snapshot.ContainsKey(u)).ToList();
        return set.Count == 0 && removed.Count == 0
            ? Task.CompletedTask
            : broker.WritePresenceAsync(room, full: false, present: snapshot.Count > 0, set, removed);
    }
}
