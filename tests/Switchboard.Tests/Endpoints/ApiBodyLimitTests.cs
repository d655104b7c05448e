using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Endpoints;

/// <summary>
/// The HTTP API's bodies are bounded by the server's own request size limit (MaxMessageBytes): a body
/// over it gets 413 with the API's error shape whether its length was declared or not, and the node
/// keeps serving. Bodies must be declared JSON: the types a page may send without a preflight get 415.
/// </summary>
[Trait("Category", "integration")]
public sealed class ApiBodyLimitTests : IAsyncLifetime
{
    private const int Limit = 1024;
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxMessageBytes"] = Limit.ToString() });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ABodyWithADeclaredLengthOverTheLimitIs413WithTheApisErrorShape()
    {
        using var response = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent(Body(Limit + 1), Encoding.UTF8, "application/json"));

        await AssertTooLargeAsync(response);
    }

    [Fact]
    public async Task AChunkedBodyThatCrossesTheLimitIs413Too()
    {
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Body(Limit * 4))));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/send") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _server.Http.SendAsync(request);

        await AssertTooLargeAsync(response);
    }

    [Fact]
    public async Task ABodyOfExactlyTheLimitIsAccepted()
    {
        var body = Body(Limit);
        Assert.Equal(Limit, Encoding.UTF8.GetByteCount(body));

        using var response = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    public async Task ABodyAPageCouldSendWithoutAPreflightIsRefusedWith415AndPublishesNothing(string? contentType)
    {
        await using var member = await _server.ConnectAsync("watcher");
        await member.RequestAsync("""{"op":"join","room":"news"}""");
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"room":"news","data":"forged"}"""));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var refused = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), content);
        using var genuine = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent("""{"room":"news","data":"genuine"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("bad_request", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("genuine", (await member.ExpectAsync("message")).GetProperty("data").GetString());
    }

    private static async Task AssertTooLargeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("bad_request", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains($"{Limit} bytes", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A valid publish (or send) body of exactly <paramref name="bytes"/> bytes.</summary>
    private static string Body(int bytes)
    {
        const string Head = """{"room":"news","user":"alice","data":" """;
        const string Tail = "\"}";
        return Head.TrimEnd() + new string('x', bytes - Head.TrimEnd().Length - Tail.Length) + Tail;
    }
}
