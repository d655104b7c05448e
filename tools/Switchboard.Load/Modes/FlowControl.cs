using Switchboard.Load.Client;

namespace Switchboard.Load.Modes;

/// <summary>
/// Closed-loop publishing: publishers stop while more than <c>window</c> publications are not yet
/// delivered to every member of this process. "Delivered to every member" is approximated by total
/// deliveries divided by members, which is exact while no member falls behind; one that does is
/// bounded by the server's queue and closed with 4000, which the run reports.
/// </summary>
internal sealed class FlowControl
{
    private readonly int _window;
    private readonly long _members;
    private readonly LoadCounters _counters;
    private long _published;

    public FlowControl(int window, long members, LoadCounters counters)
    {
        _window = window;
        _members = Math.Max(1, members);
        _counters = counters;
    }

    public long Published => Volatile.Read(ref _published);

    public bool HasRoom => Published - _counters.Delivered / _members < _window;

    public void OnPublished() => Interlocked.Increment(ref _published);
}
