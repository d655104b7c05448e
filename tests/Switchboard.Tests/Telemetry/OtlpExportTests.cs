using System.Net;
using System.Text;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Telemetry;

/// <summary>
/// OTLP export, switched on by configuration alone: a node sends its traces and metrics to a collector
/// (here an in-process OTLP/HTTP receiver), with export intervals shortened through the standard
/// <c>OTEL_METRIC_EXPORT_INTERVAL</c> and <c>OTEL_BSP_SCHEDULE_DELAY</c> settings.
/// </summary>
[Trait("Category", "integration")]
public sealed class OtlpExportTests : IAsyncLifetime
{
    private const string ApiKey = "otlp-test-api-key-0123456789";

    private OtlpReceiver _collector = null!;

    public async Task InitializeAsync() => _collector = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync() => await _collector.DisposeAsync();

    [Fact]
    public async Task TracesAndMetricsReachTheCollectorNamedInSwitchboardTelemetryOtlpEndpoint()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Telemetry:Otlp:Endpoint"] = _collector.Endpoint.ToString(),
            ["Switchboard:Telemetry:Otlp:Protocol"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });

        await using (await server.ConnectAsync("alice"))
        {
        }

        using var published = await PublishAsync(server.Http);

        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        await _collector.WaitForSpanAsync("Microsoft.AspNetCore", "POST /api/publish");
        await _collector.WaitForMetricAsync("Switchboard", "switchboard.publications");
        await _collector.WaitForMetricAsync("Switchboard", "switchboard.connections.accepted");
        await _collector.WaitForMetricAsync("Microsoft.AspNetCore.Hosting", "http.server.request.duration");
    }

    [Fact]
    public async Task TheStandardEnvironmentVariableAloneSwitchesExportOnInTheShippedHost()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _collector.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["Switchboard__Api__Keys__0"] = ApiKey,
        });
        var address = await server.WaitForListeningAsync();
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);

        using var published = await PublishAsync(http);

        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        await _collector.WaitForSpanAsync("Microsoft.AspNetCore", "POST /api/publish");
        await _collector.WaitForMetricAsync("Switchboard", "switchboard.publications");
    }

    private static Task<HttpResponseMessage> PublishAsync(HttpClient http) =>
        http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent("""{"room":"lobby","data":"hello"}""", Encoding.UTF8, "application/json"));
}
