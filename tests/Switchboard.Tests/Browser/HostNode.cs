using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The shipped host as a process, started as <c>./scripts/run.sh</c> starts it (development
/// environment: <c>?user=</c> identity, key-less HTTP API), so the pages are served exactly as shipped.
/// </summary>
public sealed class HostNode : IAsyncDisposable
{
    private readonly IDictionary<string, string>? _environment;
    private ServerProcess _process;
    private bool _processDisposed;

    private HostNode(ServerProcess process, Uri baseUri, IDictionary<string, string>? environment)
    {
        _process = process;
        _environment = environment;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri BaseUri { get; }

    public HttpClient Http { get; }

    public string Output => _process.Output;

    /// <summary>Starts a node; with <paramref name="port"/> on that port, so that it can be restarted where its clients expect it.</summary>
    public static async Task<HostNode> StartAsync(IDictionary<string, string>? environment = null, int? port = null)
    {
        var process = await StartProcessAsync(environment, port);
        return new HostNode(process, await process.WaitForListeningAsync(), environment);
    }

    /// <summary>Stops the node as a service manager does (SIGTERM: drain, close with 1001, exit).</summary>
    public async Task StopAsync()
    {
        _process.Terminate();
        var code = await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        if (code != 0)
        {
            throw new InvalidOperationException($"the node exited with {code}:\n{Output}");
        }
    }

    /// <summary>Starts the stopped node again on the same port.</summary>
    public async Task RestartAsync()
    {
        await DisposeProcessAsync();
        _process = await StartProcessAsync(_environment, BaseUri.Port);
        _processDisposed = false;
        var address = await _process.WaitForListeningAsync();
        if (address.Port != BaseUri.Port)
        {
            throw new InvalidOperationException($"the node came back on {address}, not {BaseUri}");
        }
    }

    /// <summary>Kills the node at once (SIGKILL): no drain, no close frames.</summary>
    public ValueTask KillAsync() => DisposeProcessAsync();

    /// <summary>Publishes <c>{"text":TEXT}</c> to <paramref name="room"/> through this node's HTTP API.</summary>
    public Task PublishAsync(string room, string text) => PublishAsync(Http, room, text);

    /// <summary>
    /// Publishes through <paramref name="http"/>. A 502 from nginx (a POST it had sent on a kept-alive
    /// connection to a node that just died, which therefore published nothing) is sent again.
    /// </summary>
    public static async Task PublishAsync(HttpClient http, string room, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            using var response = await http.PostAsJsonAsync("api/publish", new { room, data = new { text } });
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            if (response.StatusCode != HttpStatusCode.BadGateway || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"publish answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await DisposeProcessAsync();
    }

    private async ValueTask DisposeProcessAsync()
    {
        // Once only: a disposed Process cannot be asked whether it exited.
        if (!_processDisposed)
        {
            _processDisposed = true;
            await _process.DisposeAsync();
        }
    }

    private static async Task<ServerProcess> StartProcessAsync(IDictionary<string, string>? environment, int? port)
    {
        var arguments = new List<string> { "--environment", "Development" };
        if (port is { } p)
        {
            // Later arguments win: this replaces the helper's own --urls with port 0.
            arguments.AddRange(["--urls", "http://127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)]);
        }

        var process = ServerProcess.Start(environment, [.. arguments]);
        try
        {
            await process.WaitForListeningAsync();
            return process;
        }
        catch (TimeoutException ex)
        {
            var output = process.Output;
            await process.DisposeAsync();
            throw new TimeoutException("the node did not start listening:\n" + output, ex);
        }
    }
}
