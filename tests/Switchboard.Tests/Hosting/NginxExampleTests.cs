using System.Net;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// The shipped nginx file (deploy/nginx/switchboard.conf) keeps the nodes' metrics off the public door
/// and writes access logs without query strings, where a browser's <c>?token=</c> would otherwise land.
/// </summary>
[Trait("Category", "external")]
public sealed class NginxExampleTests : IAsyncLifetime
{
    private TestServer _node = null!;
    private NginxServer _nginx = null!;

    public async Task InitializeAsync()
    {
        _node = await TestServer.StartAsync();
        _nginx = await NginxServer.StartAsync([_node.BaseUri]);
    }

    public async Task DisposeAsync()
    {
        await _nginx.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task MetricsAreRefusedThroughNginxAndServedByTheNodeItself()
    {
        using var throughNginx = await _nginx.Http.GetAsync(new Uri("metrics", UriKind.Relative));
        using var direct = await _node.Http.GetAsync(new Uri("metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, throughNginx.StatusCode);
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
    }

    [Fact]
    public async Task TheAccessLogHasThePathButNeverTheQueryString()
    {
        using var response = await _nginx.Http.GetAsync(new Uri("healthz?token=never-logged-secret", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // nginx writes the line as it finishes the request, which may be just after the client has the answer.
        var log = "";
        await Eventually.TrueAsync(() =>
        {
            log = File.Exists(_nginx.AccessLogPath) ? File.ReadAllText(_nginx.AccessLogPath) : "";
            return log.Contains("GET /healthz ", StringComparison.Ordinal);
        }, "the request is in the access log");
        Assert.DoesNotContain("never-logged-secret", log, StringComparison.Ordinal);
        Assert.DoesNotContain("token=", log, StringComparison.Ordinal);
    }
}
