using System.Net;
using System.Text;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> as a scraper sees it: Prometheus text from OpenTelemetry, with the documented names,
/// counters that move with traffic, and figures that belong to the node scraped.
/// </summary>
[Trait("Category", "integration")]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    // Every untagged series docs/configuration.md lists (the Redis ones need the Redis broker).
    private static readonly string[] DocumentedSeries =
    [
        "switchboard_connections", "switchboard_rooms", "switchboard_users", "switchboard_queue_messages", "switchboard_queue_bytes",
        "switchboard_connections_accepted_total", "switchboard_messages_in_total", "switchboard_messages_out_total",
        "switchboard_bytes_in_total", "switchboard_bytes_out_total", "switchboard_publications_total",
        "switchboard_slow_consumer_disconnects_total", "switchboard_resync_pending",
    ];

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task AFreshNodeExportsEveryDocumentedSeriesAtZeroAsPrometheusText()
    {
        using var response = await _server.Http.GetAsync(new Uri("metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var metrics = MetricsScrape.Parse(await response.Content.ReadAsStringAsync());
        foreach (var series in DocumentedSeries)
        {
            Assert.True(metrics[series] == 0, $"{series} is not exported as 0:\n{metrics.Text}");
        }

        Assert.Contains("# TYPE switchboard_publications_total counter\n", metrics.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE switchboard_connections gauge\n", metrics.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountersMoveAfterAConnectionAndAnApiPublication()
    {
        await using (var client = await _server.ConnectAsync("alice"))
        {
            Assert.Equal(1, (await MetricsScrape.ReadAsync(_server))["switchboard_connections"]);
        }

        using var publish = await _server.Http.PostAsync(
            new Uri("api/publish", UriKind.Relative),
            new StringContent("""{"room":"lobby","data":"hello"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, publish.StatusCode);

        var metrics = await MetricsScrape.ReadAsync(_server);
        Assert.Equal(1, metrics["switchboard_connections_accepted_total"]);
        Assert.Equal(1, metrics["switchboard_publications_total"]);
    }

    [Fact]
    public async Task TheRuntimeAndAspNetCoreInstrumentationAreExportedBesideSwitchboards()
    {
        using var probe = await _server.Http.GetAsync(new Uri("healthz", UriKind.Relative));

        var text = (await MetricsScrape.ReadAsync(_server)).Text;

        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/healthz\"", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE kestrel_active_connections gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachNodeInOneProcessReportsOnlyItsOwnFigures()
    {
        await using var other = await TestServer.StartAsync();

        await using (var client = await _server.ConnectAsync("alice"))
        {
            await client.RequestAsync("""{"op":"join","room":"lobby"}""");
            await client.RequestAsync("""{"op":"publish","room":"lobby","data":"x"}""");
            var busy = await MetricsScrape.ReadAsync(_server);
            var idle = await MetricsScrape.ReadAsync(other);

            Assert.Equal(1, busy["switchboard_connections"]);
            Assert.Equal(1, busy["switchboard_rooms"]);
            Assert.Equal(0, idle["switchboard_connections"]);
            Assert.Equal(0, idle["switchboard_rooms"]);
        }

        var node = await MetricsScrape.ReadAsync(_server);
        var otherNode = await MetricsScrape.ReadAsync(other);
        Assert.Equal(1, node["switchboard_connections_accepted_total"]);
        Assert.Equal(1, node["switchboard_publications_total"]);
        Assert.Equal(0, otherNode["switchboard_connections_accepted_total"]);
        Assert.Equal(0, otherNode["switchboard_publications_total"]);
        Assert.Equal(0, otherNode["switchboard_messages_in_total"]);
        // ASP.NET Core's meters come from each node's IMeterFactory too: the upgrade was served by one node only.
        Assert.Contains("http_route=\"/ws\"", node.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("http_route=\"/ws\"", otherNode.Text, StringComparison.Ordinal);
    }
}
