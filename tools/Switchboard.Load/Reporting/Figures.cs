using System.Diagnostics;

namespace Switchboard.Load.Reporting;

/// <summary>The headline numbers derived from a <see cref="RunResult"/>, shared by the report and the budgets.</summary>
internal static class Figures
{
    /// <summary>Deliveries per second over the measured window (after warm-up, while publishing).</summary>
    public static double WindowThroughput(RunResult r) => r.WindowSeconds > 0 ? r.WindowDelivered / r.WindowSeconds : 0;

    /// <summary>Deliveries per second from the first publication to the last delivery, warm-up and drain included.</summary>
    public static double OverallThroughput(RunResult r)
    {
        var seconds = Seconds(r.FirstPublishTimestamp, r.LastDeliveryTimestamp);
        return seconds > 0 ? r.Delivered / seconds : 0;
    }

    /// <summary>Connections that completed per second, from the common start to the last process's end.</summary>
    public static double ConnectRate(RunResult r)
    {
        var seconds = Seconds(r.ConnectStartTimestamp, r.ConnectEndTimestamp);
        return seconds > 0 ? r.Connected / seconds : 0;
    }

    public static double ConnectSeconds(RunResult r) => Seconds(r.ConnectStartTimestamp, r.ConnectEndTimestamp);

    /// <summary>Server RSS growth per connection held, or null without both readings.</summary>
    public static double? BytesPerConnection(RunResult r) =>
        r is { RssBefore: { } before, RssAfter: { } after, Connected: > 0 } ? (after - before) / (double)r.Connected : null;

    public static double? AnonBytesPerConnection(RunResult r) =>
        r is { RssAnonBefore: { } before, RssAnonAfter: { } after, Connected: > 0 } ? (after - before) / (double)r.Connected : null;

    /// <summary>Server-initiated closes of any code.</summary>
    public static long ServerCloses(RunResult r) => r.Closes.Values.Sum();

    public static long SlowConsumerCloses(RunResult r) =>
        r.Closes.GetValueOrDefault(Switchboard.Protocol.CloseCodes.SlowConsumer.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static double Seconds(long from, long to) => to > from && from > 0 ? (to - from) / (double)Stopwatch.Frequency : 0;
}
