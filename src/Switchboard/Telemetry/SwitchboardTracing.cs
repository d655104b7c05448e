using System.Diagnostics;

namespace Switchboard.Telemetry;

/// <summary>
/// Switchboard's <see cref="ActivitySource"/>: spans for connect, join, publish and delivery. Static, as
/// .NET's own libraries keep theirs: a span belongs to the trace it continues, not to one service provider.
/// </summary>
public static class SwitchboardTracing
{
    /// <summary>The source name, for OpenTelemetry's <c>AddSource</c> or an <see cref="ActivityListener"/>.</summary>
    public const string SourceName = "Switchboard";

    /// <summary>The source all of Switchboard's spans start from.</summary>
    public static ActivitySource Source { get; } = new(SourceName);
}
