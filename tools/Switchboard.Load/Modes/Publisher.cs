using System.Diagnostics;
using System.Net.WebSockets;
using Switchboard.Load.Client;

namespace Switchboard.Load.Modes;

/// <summary>
/// Publishes to the room over one joined connection, either at a fixed rate or closed-loop. Each
/// publication carries an id (so the server acknowledges it with its offset) and its send timestamp.
/// </summary>
internal sealed class Publisher
{
    /// <summary>Publish ids start above the join's id.</summary>
    private const long FirstId = 2;

    private readonly PublishFrameWriter _writer;
    private long _nextId = FirstId;
    private long _sent;
    private long _maxLagTicks;

    public Publisher(BenchConnection connection, PublishFrameWriter writer)
    {
        Connection = connection;
        _writer = writer;
    }

    public BenchConnection Connection { get; }

    public long Sent => Volatile.Read(ref _sent);

    /// <summary>How far behind its schedule a fixed-rate publisher fell at worst, in ticks.</summary>
    public long MaxLagTicks => Volatile.Read(ref _maxLagTicks);

    /// <summary>Why publishing stopped early, if it did.</summary>
    public string? Failure { get; private set; }

    /// <summary>Publishes until <paramref name="stop"/>; <paramref name="abort"/> cancels an in-flight send (and kills the socket).</summary>
    /// <param name="rate">Publications per second for this publisher; 0 for closed loop.</param>
    /// <param name="phase">Fraction of an interval to delay the first send, so several publishers interleave.</param>
    public async Task RunAsync(double rate, double phase, FlowControl flow, CancellationToken stop, CancellationToken abort)
    {
        try
        {
            if (rate > 0)
            {
                await RunAtRateAsync(rate, phase, flow, stop, abort);
            }
            else
            {
                await RunClosedLoopAsync(flow, stop, abort);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            Failure = ex.Message;
        }
    }

    private async Task RunAtRateAsync(double rate, double phase, FlowControl flow, CancellationToken stop, CancellationToken abort)
    {
        var interval = Stopwatch.Frequency / rate;
        var start = Stopwatch.GetTimestamp() + (long)(phase * interval);
        while (!stop.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            var next = start + (long)(_sent * interval);
            if (now >= next)
            {
                _maxLagTicks = Math.Max(_maxLagTicks, now - next);
                await SendOneAsync(flow, abort);
                continue;
            }

            // Timer resolution is about a millisecond; the timestamp in the frame is the real send
            // time, so oversleeping delays a publication but does not inflate its latency.
            var wait = TimeSpan.FromSeconds((next - now) / (double)Stopwatch.Frequency);
            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, stop)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunClosedLoopAsync(FlowControl flow, CancellationToken stop, CancellationToken abort)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!flow.HasRoom)
            {
                await Task.Delay(1, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            await SendOneAsync(flow, abort);
        }
    }

    private async ValueTask SendOneAsync(FlowControl flow, CancellationToken abort)
    {
        flow.OnPublished();
        var frame = _writer.Write(_nextId++, Stopwatch.GetTimestamp());
        await Connection.SendAsync(frame, abort);
        Volatile.Write(ref _sent, _sent + 1);
    }
}
