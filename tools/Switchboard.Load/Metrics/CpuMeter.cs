using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Load.Metrics;

/// <summary>
/// CPU time of this process and of the server over a measured span, to tell which side was the
/// bottleneck: a server near one full core is saturated; a tool near one full core means the
/// figure is the tool's limit, not the server's.
/// </summary>
internal sealed class CpuMeter
{
    private readonly int? _serverPid;
    private TimeSpan _selfStart;
    private TimeSpan? _serverStart;
    private TimeSpan _pauseStart;
    private int _gen2Start;

    public CpuMeter(int? serverPid) => _serverPid = serverPid;

    /// <summary>CPU seconds this process used between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public double SelfSeconds { get; private set; }

    /// <summary>Time this process spent paused by its own garbage collector over the span.</summary>
    public double SelfGcPauseSeconds { get; private set; }

    /// <summary>This process's full (gen 2) collections over the span.</summary>
    public int SelfGen2Collections { get; private set; }

    /// <summary>CPU seconds the server used over the same span, when its pid is known.</summary>
    public double? ServerSeconds { get; private set; }

    /// <summary>The machine's 1-minute load average, as a hint of other work competing for the cores.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Start()
    {
        _selfStart = SelfCpu();
        _serverStart = ServerCpu();
        _pauseStart = GC.GetTotalPauseDuration();
        _gen2Start = GC.CollectionCount(2);
    }

    public void Stop()
    {
        SelfSeconds = (SelfCpu() - _selfStart).TotalSeconds;
        SelfGcPauseSeconds = (GC.GetTotalPauseDuration() - _pauseStart).TotalSeconds;
        SelfGen2Collections = GC.CollectionCount(2) - _gen2Start;
        ServerSeconds = _serverStart is { } start && ServerCpu() is { } end ? (end - start).TotalSeconds : null;
    }

    private static TimeSpan SelfCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    private TimeSpan? ServerCpu()
    {
        if (_serverPid is not { } pid)
        {
            return null;
        }

        try
        {
            using var server = Process.GetProcessById(pid);
            return server.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
