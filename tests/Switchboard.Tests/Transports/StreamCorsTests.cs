using System.Net;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Transports;

/// <summary>
/// A page of an admitted origin (<c>Switchboard:AllowedOrigins</c>) may open a stream and post its
/// commands from another origin, as it may open a WebSocket: the stream endpoints answer CORS for it,
/// preflights included. A foreign origin gets no CORS header, and the door's 403.
/// </summary>
[Trait("Category", "integration")]
public sealed class StreamCorsTests : IAsyncLifetime
{
    private const string AppOrigin = "https://app.example.com";
    private const string ForeignOrigin = "https://evil.example.com";

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:AllowedOrigins:0"] = AppOrigin });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("events")]
    [InlineData("stream")]
    public async Task AStreamOpenedByAnAdmittedPageCarriesTheCorsAnswer(string path)
    {
        using var http = new HttpClient { BaseAddress = _server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, path + "?user=alice");
        request.Headers.Add("Origin", AppOrigin);
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(AppOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Single(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", response.Headers.Vary);
    }

    [Fact]
    public async Task ACommandPostedByAnAdmittedPageIsAcceptedWithTheCorsAnswer()
    {
        await using var client = (HttpStreamClient)await _server.ConnectAsync(SessionTransport.ServerSentEvents);

        using var response = await client.PostAsync("""{"op":"join","room":"r","id":1}""", headers: new Dictionary<string, string> { ["Origin"] = AppOrigin });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(AppOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Equal("reply", (await client.ExpectAsync(m => m.TryGetProperty("id", out var id) && id.GetInt32() == 1)).GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("events")]
    [InlineData("stream")]
    [InlineData("events/0123456789abcdef0123456789abcdef")]
    public async Task APreflightFromAnAdmittedPageAllowsTheStreamClientsMethodsAndHeaders(string path)
    {
        using var response = await PreflightAsync(path, AppOrigin);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(AppOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", Single(response, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        var allowed = Single(response, "Access-Control-Allow-Headers");
        Assert.Contains("Content-Type", allowed, StringComparison.Ordinal);
        Assert.Contains("Authorization", allowed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AForeignPageGetsNoCorsAnswer()
    {
        using var preflight = await PreflightAsync("events/0123456789abcdef0123456789abcdef", ForeignOrigin);
        using var http = new HttpClient { BaseAddress = _server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "events?user=alice");
        request.Headers.Add("Origin", ForeignOrigin);
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        using var stream = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.Forbidden, stream.StatusCode);
        Assert.False(stream.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private async Task<HttpResponseMessage> PreflightAsync(string path, string origin)
    {
        using var http = new HttpClient { BaseAddress = _server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        return await http.SendAsync(request, timeout.Token);
    }

    private static string Single(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) ? Assert.Single(values) : throw new Xunit.Sdk.XunitException($"no {header} header");
}
