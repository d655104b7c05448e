using System.Diagnostics;

namespace Switchboard.Load.Compare.Scenarios;

/// <summary>The measured span after the warm-up: its length, the server's CPU over it, and the delivery counts at each end.</summary>
internal sealed class MeasuredWindow
{
    private readonly Stopwatch _clock = new();
    private TimeSpan _cpuAtStart;

    public bool Started => _clock.IsRunning || Elapsed > TimeSpan.Zero;

    public TimeSpan Elapsed { get; private set; }

    public TimeSpan ServerCpu { get; private set; }

    public long DeliveriesAtStart { get; private set; }

    public long DeliveriesAtEnd { get; private set; }

    /// <summary>Publications sent over the whole run, warm-up included.</summary>
    public long Sent { get; private set; }

    /// <summary>A warm-up of a quarter of the measured time, at most two seconds.</summary>
    public static TimeSpan WarmupFor(TimeSpan duration) => TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds / 4));

    public void Start(PeerServer server, DeliveryTally tally)
    {
        tally.RecordFrom = DeliveryTally.Now();
        DeliveriesAtStart = tally.Deliveries;
        _cpuAtStart = server.CpuTime();
        _clock.Start();
    }

    public void Stop(PeerServer server, DeliveryTally tally, long sent)
    {
        if (!_clock.IsRunning)
        {
            Start(server, tally);
        }

        _clock.Stop();
        Elapsed = _clock.Elapsed;
        ServerCpu = server.CpuTime() - _cpuAtStart;
        DeliveriesAtEnd = tally.Deliveries;
        Sent = sent;
    }
}
