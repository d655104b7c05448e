using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Switchboard.Brokers;
using Switchboard.Protocol;
using Switchboard.Tests.Concurrency;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// A broker's own error text (a Redis message may name hosts, ports, or its state) never reaches a
/// client: the socket and the HTTP API answer <c>unavailable</c> with one fixed message, and the
/// detail goes to the server's log.
/// </summary>
[Trait("Category", "integration")]
public sealed class BrokerErrorDetailTests
{
    private const string Detail = "redis is unavailable: 10.20.30.40:6379 NOAUTH secret-cluster-name";

    [Fact]
    public async Task AnUnavailablePublishOnTheSocketIsAnsweredWithAGenericMessageAndTheDetailIsLogged()
    {
        // The per-command event is at Debug: an outage fails every command of every client.
        var logs = new CapturingLoggerProvider(Microsoft.Extensions.Logging.LogLevel.Debug);
        var broker = new ScriptedBroker { PublishFailure = new BrokerUnavailableException(Detail) };
        var settings = new Dictionary<string, string?> { ["Logging:LogLevel:Switchboard"] = "Debug" };
        await using var server = await TestServer.StartAsync(settings, logs, services: s => s.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));
        await using var client = await server.ConnectAsync("alice");
        await client.RequestAsync("""{"op":"join","room":"lobby"}""");

        await client.SendAsync("""{"op":"publish","room":"lobby","data":1,"id":99}""");
        var error = await client.ExpectAsync("error");

        Assert.Equal(ErrorCodes.Unavailable, error.GetProperty("code").GetString());
        AssertGeneric(error.GetProperty("message").GetString());
        Assert.Contains(logs.Entries, e => e.EventId.Id == 7001 && e.Exception?.Message == Detail);
    }

    [Fact]
    public async Task AnUnavailablePublishThroughTheApiIsAnsweredWithAGenericMessageAndTheDetailIsLogged()
    {
        var logs = new CapturingLoggerProvider();
        var broker = new ScriptedBroker { PublishFailure = new BrokerUnavailableException(Detail) };
        await using var server = await TestServer.StartAsync(logs: logs, services: s => s.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));

        using var response = await server.Http.PostAsJsonAsync("api/publish", new { room = "lobby", data = 1 });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(ErrorCodes.Unavailable, body.GetProperty("error").GetProperty("code").GetString());
        AssertGeneric(body.GetProperty("error").GetProperty("message").GetString());
        Assert.Contains(logs.Entries, e => e.EventId.Id == 7002 && e.Exception?.Message == Detail);
    }

    private static void AssertGeneric(string? message)
    {
        Assert.False(string.IsNullOrEmpty(message), "the error still says what happened");
        Assert.DoesNotContain("10.20.30.40", message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", message, StringComparison.Ordinal);
        Assert.DoesNotContain("redis", message, StringComparison.OrdinalIgnoreCase);
    }
}
