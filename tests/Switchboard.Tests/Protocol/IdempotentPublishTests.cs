using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>
/// A publish that carries an <c>idempotencyKey</c>, over the WebSocket protocol and the HTTP API: a
/// retry (the reply was lost, the client reconnected) answers with the first position and members
/// receive the publication once; a key that breaks the name rules is refused.
/// </summary>
[Trait("Category", "integration")]
public sealed class IdempotentPublishTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task APublishRetriedFromANewConnectionIsAnsweredWithTheFirstOffsetAndDeliveredOnce()
    {
        await using var bob = await _server.ConnectAsync("bob");
        await bob.RequestAsync("""{"op":"join","room":"orders"}""");
        var first = await PublishFromNewConnectionAsync("""{"op":"publish","room":"orders","data":"paid","idempotencyKey":"order-17"}""");
        var retry = await PublishFromNewConnectionAsync("""{"op":"publish","room":"orders","data":"paid","idempotencyKey":"order-17"}""");
        var next = await PublishFromNewConnectionAsync("""{"op":"publish","room":"orders","data":"shipped"}""");

        Assert.Equal(first.GetProperty("offset").GetUInt64(), retry.GetProperty("offset").GetUInt64());
        Assert.Equal(first.GetProperty("epoch").GetString(), retry.GetProperty("epoch").GetString());
        Assert.Equal(first.GetProperty("offset").GetUInt64() + 1, next.GetProperty("offset").GetUInt64());
        // Publications arrive in offset order, so the one after "paid" shows that no second "paid" came.
        Assert.Equal("paid", (await bob.ExpectAsync("message")).GetProperty("data").GetString());
        Assert.Equal("shipped", (await bob.ExpectAsync("message")).GetProperty("data").GetString());
    }

    [Fact]
    public async Task TheHttpApiAnswersARetryWithTheFirstPosition()
    {
        await using var bob = await _server.ConnectAsync("bob");
        await bob.RequestAsync("""{"op":"join","room":"news"}""");

        var first = await PostPublishAsync("""{"room":"news","data":"extra","idempotencyKey":"edition-1"}""");
        var retry = await PostPublishAsync("""{"room":"news","data":"extra","idempotencyKey":"edition-1"}""");
        var next = await PostPublishAsync("""{"room":"news","data":"late"}""");

        Assert.Equal(first.GetProperty("offset").GetUInt64(), retry.GetProperty("offset").GetUInt64());
        Assert.Equal(first.GetProperty("offset").GetUInt64() + 1, next.GetProperty("offset").GetUInt64());
        Assert.Equal("extra", (await bob.ExpectAsync("message")).GetProperty("data").GetString());
        Assert.Equal("late", (await bob.ExpectAsync("message")).GetProperty("data").GetString());
    }

    [Fact]
    public async Task AKeyOutsideTheNameRulesIsRefusedOnBothPaths()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"lobby"}""");

        var error = await alice.RequestAsync("""{"op":"publish","room":"lobby","data":1,"idempotencyKey":"has space"}""");
        using var response = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent("""{"room":"lobby","data":1,"idempotencyKey":7}""", Encoding.UTF8, "application/json"));

        Assert.Equal("error", error.GetProperty("op").GetString());
        Assert.Equal("invalid_field", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_field", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>Publishes as alice on a connection of its own, as a client does after a reconnect, and returns the reply.</summary>
    private async Task<JsonElement> PublishFromNewConnectionAsync(string publish)
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.RequestAsync("""{"op":"join","room":"orders"}""");
        var reply = await alice.RequestAsync(publish);
        Assert.Equal("reply", reply.GetProperty("op").GetString());
        return reply.Clone();
    }

    private async Task<JsonElement> PostPublishAsync(string json)
    {
        using var response = await _server.Http.PostAsync(new Uri("api/publish", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.Clone();
    }
}
