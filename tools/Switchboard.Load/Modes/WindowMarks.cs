using Switchboard.Load.Client;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Modes;

/// <summary>
/// The measured window of a fan-out or latency run: this process's delivery count at its start and
/// end. Workers mark it when the coordinator's announcement arrives (within a millisecond or so).
/// </summary>
internal sealed class WindowMarks
{
    private readonly CpuMeter _cpu;
    private long _startTimestamp;
    private long _startDelivered;
    private long _endTimestamp;
    private long _endDelivered;

    public WindowMarks(int? serverPid) => _cpu = new CpuMeter(serverPid);

    /// <summary>CPU used over the window: this process, and the server when its pid is known.</summary>
    public CpuMeter Cpu => _cpu;

    public long Delivered => Volatile.Read(ref _endTimestamp) == 0 ? 0 : _endDelivered - _startDelivered;

    public double Seconds => Volatile.Read(ref _endTimestamp) == 0 ? 0 : RunContext.Seconds(_startTimestamp, _endTimestamp);

    /// <summary>Starts the window; latency is recorded only for publications sent from now on.</summary>
    public void MarkStart(long timestamp, LoadCounters counters)
    {
        _startDelivered = counters.Delivered;
        _startTimestamp = timestamp;
        _cpu.Start();
        counters.LatencyFrom = timestamp;
    }

    public void MarkEnd(long timestamp, LoadCounters counters)
    {
        _endDelivered = counters.Delivered;
        _cpu.Stop();
        Volatile.Write(ref _endTimestamp, timestamp);
    }
}
