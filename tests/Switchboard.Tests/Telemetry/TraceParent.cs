using System.Diagnostics;

namespace Switchboard.Tests.Telemetry;

/// <summary>A W3C trace context as a caller upstream of Switchboard would send it: the test knows its ids.</summary>
public sealed record TraceParent(ActivityTraceId TraceId, ActivitySpanId SpanId)
{
    /// <summary>The <c>traceparent</c> header (sampled).</summary>
    public string Header => $"00-{TraceId.ToHexString()}-{SpanId.ToHexString()}-01";

    public ActivityContext Context => new(TraceId, SpanId, ActivityTraceFlags.Recorded, isRemote: true);

    public static TraceParent New() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
}
