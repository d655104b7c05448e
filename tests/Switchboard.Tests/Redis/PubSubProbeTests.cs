using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Redis;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>The pub/sub liveness probe's schedule, pinned with a fake clock: when it calls a connection silent, and back.</summary>
[Trait("Category", "unit")]
public sealed class PubSubProbeTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly CountingTimeProvider _time = new();
    private readonly Channel<long> _sent = Channel.CreateUnbounded<long>();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stalls;
    private PubSubProbe _probe = null!;
    private Task _running = Task.CompletedTask;
    private bool _sendFails;

    public Task InitializeAsync()
    {
        _probe = new PubSubProbe(Interval, Timeout, _time);
        _running = _probe.RunAsync(
            (number, _) =>
            {
                _sent.Writer.TryWrite(number);
                return _sendFails ? Task.FromException(new InvalidOperationException("interactive connection down")) : Task.CompletedTask;
            },
            () =>
            {
                Interlocked.Increment(ref _stalls);
                _stalled.TrySetResult();
            },
            () => _recovered.TrySetResult(),
            _stop.Token);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running.WaitAsync(Deadline);
    }

    public void Dispose() => _stop.Dispose();

    [Fact]
    public async Task APingThatDoesNotComeBackWithinTheTimeoutMakesTheConnectionSilentAndTheNextOneThatDoesMakesItBack()
    {
        // Ping 1 comes back: nothing to report.
        await AdvanceWhenWaitingAsync(timers: 1, Interval);
        Assert.Equal(1, await NextSentAsync());
        await _time.WaitForTimersAsync(2);
        _probe.OnEcho(1);

        // Ping 2 does not: silent exactly at the timeout, not a tick before.
        await AdvanceWhenWaitingAsync(timers: 3, Interval);
        Assert.Equal(2, await NextSentAsync());
        await _time.WaitForTimersAsync(4);
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(_probe.Stalled);
        Assert.False(_stalled.Task.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _stalled.Task.WaitAsync(Deadline);
        Assert.True(_probe.Stalled);

        // Ping 3 comes back: back, once.
        await AdvanceWhenWaitingAsync(timers: 5, Interval);
        Assert.Equal(3, await NextSentAsync());
        await _time.WaitForTimersAsync(6);
        Assert.False(_recovered.Task.IsCompleted);
        _probe.OnEcho(3);
        await _recovered.Task.WaitAsync(Deadline);
        Assert.False(_probe.Stalled);
        Assert.Equal(1, Volatile.Read(ref _stalls));
    }

    [Fact]
    public async Task ALatePingDoesNotEndTheSilenceButOnlyTheCurrentOneDoes()
    {
        await AdvanceWhenWaitingAsync(timers: 1, Interval);
        Assert.Equal(1, await NextSentAsync());
        await _time.WaitForTimersAsync(2);
        _time.Advance(Timeout);
        await _stalled.Task.WaitAsync(Deadline);

        await AdvanceWhenWaitingAsync(timers: 3, Interval);
        Assert.Equal(2, await NextSentAsync());
        await _time.WaitForTimersAsync(4);
        // Ping 1, held up somewhere, arrives now: it proves nothing about the connection of now, so
        // ping 2 times out as well and the next round starts still silent.
        _probe.OnEcho(1);
        Assert.False(_recovered.Task.IsCompleted);
        _time.Advance(Timeout);
        await _time.WaitForTimersAsync(5);
        Assert.True(_probe.Stalled);
        Assert.False(_recovered.Task.IsCompleted);

        await AdvanceWhenWaitingAsync(timers: 5, Interval);
        Assert.Equal(3, await NextSentAsync());
        await _time.WaitForTimersAsync(6);
        _probe.OnEcho(3);
        await _recovered.Task.WaitAsync(Deadline);
        Assert.Equal(1, Volatile.Read(ref _stalls));
    }

    [Fact]
    public async Task APingThatCannotBeSentChangesNothing()
    {
        _sendFails = true;
        await AdvanceWhenWaitingAsync(timers: 1, Interval);
        Assert.Equal(1, await NextSentAsync());
        // No timeout is armed for a ping that never left: the next timer is the next interval's.
        await AdvanceWhenWaitingAsync(timers: 2, Timeout + Interval);
        Assert.Equal(2, await NextSentAsync());
        Assert.False(_probe.Stalled);
        Assert.Equal(0, Volatile.Read(ref _stalls));
    }

    private async Task<long> NextSentAsync() => await _sent.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

    /// <summary>Advances the clock once the probe armed its <paramref name="timers"/>-th timer, so no advance happens before the timer it is meant for exists.</summary>
    private async Task AdvanceWhenWaitingAsync(int timers, TimeSpan by)
    {
        await _time.WaitForTimersAsync(timers);
        _time.Advance(by);
    }

    /// <summary>A fake clock that counts the timers made from it: a test waits for the probe to arm one before moving time.</summary>
    private sealed class CountingTimeProvider : TimeProvider
    {
        private readonly FakeTimeProvider _fake = new();
        private int _created;

        public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

        public override long GetTimestamp() => _fake.GetTimestamp();

        public override long TimestampFrequency => _fake.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = _fake.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _created);
            return timer;
        }

        public void Advance(TimeSpan by) => _fake.Advance(by);

        public Task WaitForTimersAsync(int count) =>
            Infrastructure.Eventually.TrueAsync(() => Volatile.Read(ref _created) >= count, $"the probe armed timer {count}", Deadline);
    }
}
