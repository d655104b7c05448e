using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Telemetry;

/// <summary>
/// <c>AddSwitchboard()</c> only creates instruments; <c>AddSwitchboardTelemetry()</c> opts into
/// OpenTelemetry, adds to an app's own setup rather than competing with it, and refuses bad settings.
/// </summary>
[Trait("Category", "integration")]
public sealed class TelemetryOptInTests
{
    [Fact]
    public async Task AddSwitchboardAloneStartsNoOpenTelemetryAndMapsNoMetricsEndpoint()
    {
        await using var app = await StartAsync(builder => builder.Services.AddSwitchboard());

        Assert.Null(app.Services.GetService<MeterProvider>());
        using var response = await app.Http.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task TheAppsOwnOpenTelemetrySetupAndARepeatedCallShareOneProviderAndOneEndpoint()
    {
        await using var app = await StartAsync(builder =>
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter("Shop"));
            builder.Services.AddSwitchboard();
            builder.AddSwitchboardTelemetry();
            builder.AddSwitchboardTelemetry();
        });
        app.Services.GetRequiredService<IMeterFactory>().Create("Shop").CreateCounter<long>("shop.orders").Add(3);

        var metrics = await MetricsScrape.ReadAsync(app.Http);

        Assert.Single(app.Services.GetServices<MeterProvider>());
        Assert.Equal(3, metrics["shop_orders_total"]);
        Assert.Equal(0, metrics["switchboard_publications_total"]);
        Assert.Single(metrics.Text.Split('\n'), line => line == "# TYPE switchboard_publications_total counter");
    }

    [Theory]
    [InlineData("Switchboard:Telemetry:Otlp:Endpoint", "collector:4317", "Switchboard:Telemetry:Otlp:Endpoint must be an absolute http or https URI")]
    [InlineData("Switchboard:Telemetry:Otlp:Endpoint", "ftp://collector:4317", "Switchboard:Telemetry:Otlp:Endpoint must be an absolute http or https URI")]
    [InlineData("Switchboard:Telemetry:Otlp:Protocol", "http/json", "Switchboard:Telemetry:Otlp:Protocol must be 'grpc' or 'http/protobuf'")]
    public async Task ABadOtlpSettingStopsTheStartNamingTheKey(string key, string value, string message)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
            builder.Services.AddSwitchboard();
            builder.AddSwitchboardTelemetry();
        }));

        Assert.Contains(failure.Failures, f => f.StartsWith(message, StringComparison.Ordinal));
    }

    private static async Task<RunningApp> StartAsync(Action<WebApplicationBuilder> configure)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configure(builder);
        var app = builder.Build();
        app.MapSwitchboard();
        try
        {
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new RunningApp(app, new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(10) });
    }

    private sealed class RunningApp(WebApplication app, HttpClient http) : IAsyncDisposable
    {
        public IServiceProvider Services => app.Services;

        public HttpClient Http => http;

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await app.DisposeAsync();
        }
    }
}
