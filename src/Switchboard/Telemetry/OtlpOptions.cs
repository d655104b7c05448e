namespace Switchboard.Telemetry;

/// <summary>
/// OTLP export of metrics and traces (and logs, as OpenTelemetry's <c>UseOtlpExporter</c> does). Switched
/// on by <see cref="Endpoint"/> or by the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> setting.
/// </summary>
public sealed class OtlpOptions
{
    /// <summary>The OTLP protocol over gRPC (a collector's port 4317).</summary>
    public const string Grpc = "grpc";

    /// <summary>The OTLP protocol as protobuf over HTTP (a collector's port 4318).</summary>
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>
    /// The collector's base address, an absolute http or https URI such as <c>http://collector:4317</c>.
    /// With <see cref="HttpProtobuf"/> the signal paths (<c>/v1/traces</c>, <c>/v1/metrics</c>,
    /// <c>/v1/logs</c>) are appended, as for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>. Empty: OTLP is off unless
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// <see cref="Grpc"/> or <see cref="HttpProtobuf"/>. Empty: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> if set,
    /// otherwise <see cref="Grpc"/> (the OpenTelemetry .NET exporter's default).
    /// </summary>
    public string? Protocol { get; set; }
}
