using System.Collections.Concurrent;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A broker whose every step the test drives: subscribe, unsubscribe and stream reads wait at gates
/// the test opens, publications reach the node only when the test delivers them, and every call is
/// recorded in order. With it an interleaving is set up step by step, without sleeps or sockets.
/// </summary>
public sealed class ScriptedBroker : IBroker
{
    private readonly ConcurrentQueue<string> _calls = new();

    /// <summary>Subscribe calls wait here while closed.</summary>
    public Gate SubscribeGate { get; } = new(open: true);

    /// <summary>Unsubscribe calls wait here while closed.</summary>
    public Gate UnsubscribeGate { get; } = new(open: true);

    /// <summary>Stream reads wait here while closed.</summary>
    public Gate ReadGate { get; } = new(open: true);

    private int _presencePublishes;

    /// <summary>Presence events the node published (kept apart from <see cref="Calls"/>, which tests compare whole).</summary>
    public int PresencePublishes => Volatile.Read(ref _presencePublishes);

    /// <summary>When set, every publish throws it (an outage, as a real broker reports one).</summary>
    public Exception? PublishFailure { get; set; }

    /// <summary>What a stream read answers: the top and the publications.</summary>
    public StreamRead NextRead { get; set; } = new(new StreamPosition(0, "e1"), [], null);

    public IBrokerHandler Handler { get; private set; } = null!;

    /// <summary>Every call so far, in order: "subscribe r", "read r", "unsubscribe r", "publish r".</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    public int Count(string call) => _calls.Count(c => c == call);

    public string? Unavailable => null;

    public void Attach(IBrokerHandler handler) => Handler = handler;

    /// <summary>Hands a publication of <paramref name="room"/> with <paramref name="offset"/> to the node, as the broker's feed would.</summary>
    public void Deliver(string room, ulong offset) =>
        Handler.OnPublication(new Publication(room, offset, "pub", "{}"u8.ToArray(), isBinary: false, DateTimeOffset.UnixEpoch));

    public async ValueTask SubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        _calls.Enqueue("subscribe " + room);
        await SubscribeGate.PassAsync();
    }

    public async ValueTask UnsubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        _calls.Enqueue("unsubscribe " + room);
        await UnsubscribeGate.PassAsync();
    }

    public async ValueTask<StreamRead> ReadStreamAsync(string room, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        _calls.Enqueue("read " + room);
        await ReadGate.PassAsync();
        return NextRead;
    }

    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken)
    {
        _calls.Enqueue("publish " + room);
        if (PublishFailure is { } failure)
        {
            throw failure;
        }

        return ValueTask.FromResult(new StreamPosition(1, "e1"));
    }

    public ValueTask PublishPresenceAsync(string room, OutboundFrame frame, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _presencePublishes);
        Handler.OnPresenceChange(room, frame);
        return ValueTask.CompletedTask;
    }

    public ValueTask SendToUserAsync(string user, OutboundFrame frame, CancellationToken cancellationToken)
    {
        Handler.OnDirect(user, frame);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Handler.LocalPresence(room));

    public ValueTask SubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask UnsubscribeUserAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A gate calls wait at while it is closed; the test opens it. Counts who is waiting.</summary>
public sealed class Gate(bool open)
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _opened = NewOpened(open);
    private int _waiting;

    public int Waiting => Volatile.Read(ref _waiting);

    public void Close()
    {
        lock (_lock)
        {
            if (_opened.Task.IsCompleted)
            {
                _opened = NewOpened(false);
            }
        }
    }

    public void Open()
    {
        lock (_lock)
        {
            _opened.TrySetResult();
        }
    }

    public async Task PassAsync()
    {
        Task opened;
        lock (_lock)
        {
            opened = _opened.Task;
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            await opened.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private static TaskCompletionSource NewOpened(bool open)
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            source.SetResult();
        }

        return source;
    }
}
