using Microsoft.Extensions.Options;

namespace Switchboard.Telemetry;

/// <summary>Rejects telemetry settings the exporter cannot use, naming every bad key.</summary>
internal sealed class SwitchboardTelemetryOptionsValidator : IValidateOptions<SwitchboardTelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardTelemetryOptions options)
    {
        var failures = new List<string>();
        var otlp = options.Otlp;
        if (!string.IsNullOrEmpty(otlp.Endpoint) && !IsHttpUri(otlp.Endpoint))
        {
            failures.Add($"{SwitchboardTelemetryOptions.SectionName}:Otlp:Endpoint must be an absolute http or https URI (got '{otlp.Endpoint}')");
        }

        if (!string.IsNullOrEmpty(otlp.Protocol) && otlp.Protocol is not (OtlpOptions.Grpc or OtlpOptions.HttpProtobuf))
        {
            failures.Add($"{SwitchboardTelemetryOptions.SectionName}:Otlp:Protocol must be '{OtlpOptions.Grpc}' or '{OtlpOptions.HttpProtobuf}' (got '{otlp.Protocol}')");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsHttpUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
