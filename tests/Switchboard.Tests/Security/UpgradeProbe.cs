using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Switchboard.Tests.Security;

/// <summary>
/// A WebSocket upgrade request sent as plain HTTP, to see what a client library hides: the status
/// of a refused upgrade, its headers and its JSON body. A 101 answer is simply dropped.
/// </summary>
public static class UpgradeProbe
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Sends one upgrade request for <paramref name="path"/> on a connection of its own.</summary>
    public static async Task<UpgradeAnswer> SendAsync(Uri server, string path, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var handler = new SocketsHttpHandler();
        return await SendAsync(handler, server, path, headers);
    }

    /// <summary>Sends one upgrade request through <paramref name="handler"/>, which may reuse a connection a refusal left open.</summary>
    public static async Task<UpgradeAnswer> SendAsync(SocketsHttpHandler handler, Uri server, string path, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, path))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = new CancellationTokenSource(Timeout);
        using var response = await invoker.SendAsync(request, timeout.Token);
        // After a 101 the content is the raw WebSocket stream: disposing the response drops it.
        var body = response.StatusCode == HttpStatusCode.SwitchingProtocols ? string.Empty : await response.Content.ReadAsStringAsync(timeout.Token);
        var extensions = response.Headers.TryGetValues("Sec-WebSocket-Extensions", out var values) ? string.Join(", ", values) : null;
        return new UpgradeAnswer(response.StatusCode, response.Headers.RetryAfter?.ToString(), body, extensions);
    }
}
