namespace Switchboard.Telemetry;

/// <summary>
/// How <c>AddSwitchboardTelemetry()</c> exports the node's metrics and traces, bound from the
/// <c>Switchboard:Telemetry</c> configuration section. Validated at start-up.
/// </summary>
public sealed class SwitchboardTelemetryOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Switchboard:Telemetry";

    /// <summary>Export over OTLP to a collector; off unless an endpoint is configured.</summary>
    public OtlpOptions Otlp { get; set; } = new();
}
