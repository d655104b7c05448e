using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// The HTTP API needs one of <c>Api:Keys</c>, as <c>Authorization: Bearer</c> or <c>X-Api-Key</c>;
/// anything else is a 401 with a JSON error. Health and metrics stay open for probes and scrapers.
/// </summary>
[Trait("Category", "integration")]
public sealed class ApiKeyTests : IAsyncLifetime
{
    private const string Key = "api-key-0123456789abcdef";
    private const string OtherKey = "second-key-fedcba9876543210";

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Api:AllowWithoutKey"] = "false",
        ["Switchboard:Api:Keys:0"] = Key,
        ["Switchboard:Api:Keys:1"] = OtherKey,
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, string?, string?> RefusedCredentials() => new()
    {
        { "missing", null, null },
        { "wrong bearer", "Bearer not-the-key-0123456789", null },
        { "wrong header", null, "not-the-key-0123456789" },
        { "a prefix of the key", "Bearer " + Key[..^1], null },
        { "the key plus more", null, Key + "x" },
        { "another scheme", "Basic " + Key, null },
        { "empty bearer", "Bearer ", null },
    };

    [Theory]
    [MemberData(nameof(RefusedCredentials))]
    public async Task RequestsWithoutAValidKeyGet401WithAJsonError(string kind, string? authorization, string? apiKey)
    {
        Assert.NotNull(kind);
        using var response = await SendAsync(HttpMethod.Get, "api/rooms", authorization, apiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ErrorCodes.Unauthorized, body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Theory]
    [InlineData("Bearer " + Key, null)]
    [InlineData(null, Key)]
    [InlineData("Bearer " + OtherKey, null)]
    [InlineData(null, OtherKey)]
    public async Task EitherConfiguredKeyByEitherHeaderIsAccepted(string? authorization, string? apiKey)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/rooms", authorization, apiKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ARefusedPublishReachesNobody()
    {
        await using var member = await _server.ConnectAsync("alice");
        await member.RequestAsync("""{"op":"join","room":"lobby"}""");

        using var refused = await SendAsync(HttpMethod.Post, "api/publish", null, "wrong-key-0123456789", new { room = "lobby", data = "forged" });
        using var accepted = await SendAsync(HttpMethod.Post, "api/publish", null, Key, new { room = "lobby", data = "genuine" });

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var message = await member.ExpectAsync("message");
        Assert.Equal("genuine", message.GetProperty("data").GetString());
        Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
    }

    [Theory]
    [InlineData("api/publish")]
    [InlineData("api/send")]
    public async Task WritesNeedAKeyToo(string path)
    {
        using var response = await SendAsync(HttpMethod.Post, path, null, null, new { room = "lobby", user = "bob", data = 1 });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("api/rooms/lobby/presence")]
    [InlineData("api/rooms/lobby/history")]
    public async Task ReadsNeedAKeyToo(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    [InlineData("metrics")]
    public async Task HealthAndMetricsNeedNoKey(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task WithNoKeysConfiguredTheApiRefusesEveryCall()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Api:AllowWithoutKey"] = "false" });

        using var response = await server.Http.GetAsync(new Uri("api/rooms", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ErrorCodes.Unauthorized, body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Api:Keys", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowWithoutKeyOpensTheApi()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Api:AllowWithoutKey"] = "true" });

        using var response = await server.Http.GetAsync(new Uri("api/rooms", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? authorization, string? apiKey, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await _server.Http.SendAsync(request);
    }
}
