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
    private readonly WireTally? _wire;
    private long _startTimestamp;
    private long _startWire;
    private long _endWire;
    private long _startMessageBytes;
    private long _endMessageBytes;
    private long _startDelivered;
    private long _endTimestamp;
    private long _endDelivered;

    public WindowMarks(int? serverPid, WireTally? wire = null)
    {
        _cpu = new CpuMeter(serverPid);
        _wire = wire;
    }

    /// <summary>CPU used over the window: this process, and the server when its pid is known.</summary>
    public CpuMeter Cpu => _cpu;

    public long Delivered => Volatile.Read(ref _endTimestamp) == 0 ? 0 : _endDelivered - _startDelivered;

    /// <summary>Bytes that came off this process's sockets during the window (compressed, with frame headers).</summary>
    public long WireBytes => Volatile.Read(ref _endTimestamp) == 0 ? 0 : _endWire - _startWire;

    /// <summary>Bytes of the messages those were, once inflated.</summary>
    public long MessageBytes => Volatile.Read(ref _endTimestamp) == 0 ? 0 : _endMessageBytes - _startMessageBytes;

    public double Seconds => Volatile.Read(ref _endTimestamp) == 0 ? 0 : RunContext.Seconds(_startTimestamp, _endTimestamp);

    /// <summary>Starts the window; latency is recorded only for publications sent from now on.</summary>
    public void MarkStart(long timestamp, LoadCounters counters)
    {
        _startDelivered = counters.Delivered;
        _startWire = _wire?.Bytes ?? 0;
        _startMessageBytes = counters.MessageBytes;
        _startTimestamp = timestamp;
        _cpu.Start();
        counters.LatencyFrom = timestamp;
    }

    public void MarkEnd(long timestamp, LoadCounters counters)
    {
        _endDelivered = counters.Delivered;
        _endWire = _wire?.Bytes ?? 0;
        _endMessageBytes = counters.MessageBytes;
        _cpu.Stop();
        Volatile.Write(ref _endTimestamp, timestamp);
    }
}
