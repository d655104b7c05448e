using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Keeps this node's presence hash of one room in Redis in step with its local members, and carries
/// the <c>joined</c>/<c>left</c> announcements of the room's users to the script that writes it (which
/// decides them against every node's entries). Requests are coalesced: while one write is in flight,
/// any number of requests share the next one, which writes only what changed since the last success
/// (or everything, when Redis's copy is unknown) with every announcement made meanwhile. A join storm
/// in a big room therefore costs a few writes of the changes, not one per join.
/// </summary>
internal sealed class PresenceWriter(string room, RedisBroker broker)
{
    private readonly Lock _lock = new();
    private List<PresenceChange> _changes = [];
    private Dictionary<string, int>? _written;
    private string[] _otherNodes = [];
    private TaskCompletionSource? _next;
    private bool _heal;
    private bool _running;
    private bool _closed;

    /// <summary>
    /// Completes once a write that started after this call succeeded; faults with
    /// <see cref="Brokers.BrokerUnavailableException"/> when it failed. With <paramref name="full"/>,
    /// that write replaces the whole hash (Redis may have lost it); with <paramref name="heal"/>, it also
    /// announces <c>joined</c> for this node's users that no event shows in the room (a survivor may
    /// have sent their <c>left</c> while this node was cut off); with <paramref name="announce"/>, it
    /// announces that change if it changes whether the user is in the room anywhere.
    /// </summary>
    public Task RequestAsync(bool full = false, bool heal = false, PresenceChange? announce = null)
    {
        lock (_lock)
        {
            if (_closed)
            {
                // The entry is removed (the removal was issued first): the change is decided against the other nodes'.
                return announce is { } change ? broker.DecidePresenceAsync(room, [change]) : Task.CompletedTask;
            }

            if (full)
            {
                _written = null;
            }

            _heal |= heal;
            if (announce is { } announced)
            {
                _changes.Add(announced);
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
    /// Stops writing and removes this node's entry; announcements not written yet are decided after the
    /// removal. Both are issued under the lock, as every write of this writer is (its runs again too,
    /// see <see cref="RunAgain"/>), so no write of this writer can reach Redis after them.
    /// </summary>
    public Task CloseAndRemoveAsync()
    {
        lock (_lock)
        {
            _closed = true;
            var removal = broker.RemovePresenceAsync(room);
            var decided = _changes.Count > 0 ? broker.DecidePresenceAsync(room, _changes) : Task.CompletedTask;
            _changes = [];
            if (_next is { } next)
            {
                // Observed through the requesters' task; CompleteAsync never throws.
                _ = CompleteAsync(decided, next);
            }

            _next = null;
            return Task.WhenAll(removal, decided);
        }
    }

    /// <summary>
    /// Issues again a write the script sent back (the room's member nodes changed since the writer last
    /// read them). Under the lock, as its first run was: once closed, the node's entry is removed (or its
    /// removal issued), and the write, taken before its last member left, would put the users back,
    /// after which the last user's <c>left</c> would find them and never be sent. So it runs as a
    /// decision only (MODE <c>d</c>): what it announces is decided against the other nodes' entries.
    /// </summary>
    internal Task<RedisResult> RunAgain(char mode, Func<char, Task<RedisResult>> run)
    {
        lock (_lock)
        {
            return run(_closed ? 'd' : mode);
        }
    }

    private static async Task CompleteAsync(Task decided, TaskCompletionSource requesters)
    {
        try
        {
            await decided.ConfigureAwait(false);
            requesters.TrySetResult();
        }
        catch (Exception ex)
        {
            requesters.TrySetException(ex);
        }
    }

    // Started by RequestAsync; its outcome reaches every requester through their shared task.
    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            TaskCompletionSource round;
            Task<string[]> write;
            Dictionary<string, int> snapshot;
            bool heal;
            lock (_lock)
            {
                if (_closed || _next is null)
                {
                    _running = false;
                    return;
                }

                round = _next;
                _next = null;
                heal = _heal;
                _heal = false;
                var changes = _changes;
                _changes = [];
                snapshot = new Dictionary<string, int>(broker.Handler.LocalPresence(room), StringComparer.Ordinal);
                write = Issue(snapshot, changes, heal);
            }

            try
            {
                var otherNodes = await write.ConfigureAwait(false);
                lock (_lock)
                {
                    _written = snapshot;
                    _otherNodes = otherNodes;
                }

                round.TrySetResult();
            }
            catch (Exception ex)
            {
                lock (_lock)
                {
                    // Whatever reached Redis is unknown now: the next write replaces the whole hash,
                    // and heals again if this one was to.
                    _written = null;
                    _heal |= heal;
                }

                round.TrySetException(ex);
            }
        }
    }

    private Task<string[]> Issue(Dictionary<string, int> snapshot, List<PresenceChange> changes, bool heal)
    {
        // Users a hub would not announce (presence hidden, or too many members here) are not healed either.
        heal = heal && broker.AnnouncesPresence(room, snapshot.Values.Sum());
        var written = _written;
        if (written is null)
        {
            return broker.WritePresenceAsync(room, full: true, present: snapshot.Count > 0, snapshot, [], changes, heal, _otherNodes, this);
        }

        var set = snapshot.Where(p => !written.TryGetValue(p.Key, out var count) || count != p.Value).ToList();
        var removed = written.Keys.Where(u => !snapshot.ContainsKey(u)).ToList();
        return set.Count == 0 && removed.Count == 0 && changes.Count == 0 && !heal
            ? Task.FromResult(_otherNodes)
            : broker.WritePresenceAsync(room, full: false, present: snapshot.Count > 0, set, removed, changes, heal, _otherNodes, this);
    }
}
