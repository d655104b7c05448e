using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A stand-in OpenTelemetry collector: OTLP/HTTP with protobuf bodies on 127.0.0.1 and a free port,
/// at <c>/v1/traces</c>, <c>/v1/metrics</c> and <c>/v1/logs</c>. It keeps the span and metric names it
/// receives, and a test waits for the one it expects.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<(string Scope, string Name)> _spans = [];
    private readonly List<(string Scope, string Name)> _metrics = [];
    private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiters = [];

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:PORT, the base endpoint to give an exporter (it appends the signal paths).</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", context => receiver.AcceptAsync(context, OtlpMessages.SpanNames, receiver._spans));
        app.MapPost("/v1/metrics", context => receiver.AcceptAsync(context, OtlpMessages.MetricNames, receiver._metrics));
        app.MapPost("/v1/logs", context => receiver.AcceptAsync(context, static _ => [], []));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        receiver.Endpoint = new Uri(address);
        return receiver;
    }

    /// <summary>Waits until a span named <paramref name="name"/> from <paramref name="scope"/> has arrived.</summary>
    public Task WaitForSpanAsync(string scope, string name) =>
        WaitAsync(() => _spans.Contains((scope, name)), $"span '{name}' from '{scope}'", () => _spans);

    /// <summary>Waits until metric <paramref name="name"/> from <paramref name="scope"/> has arrived.</summary>
    public Task WaitForMetricAsync(string scope, string name) =>
        WaitAsync(() => _metrics.Contains((scope, name)), $"metric '{name}' from '{scope}'", () => _metrics);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }

    private async Task WaitAsync(Func<bool> condition, string what, Func<List<(string Scope, string Name)>> seen)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (condition())
            {
                return;
            }

            _waiters.Add((condition, done));
        }

        try
        {
            await done.Task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            string received;
            lock (_lock)
            {
                received = string.Join(", ", seen().Distinct().Select(s => s.Scope + "/" + s.Name));
            }

            throw new TimeoutException($"no {what} reached the OTLP receiver; received: {received}");
        }
    }

    private async Task AcceptAsync(HttpContext context, Func<byte[], IEnumerable<(string Scope, string Name)>> names, List<(string Scope, string Name)> into)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var received = names(body.ToArray()).ToList();
        lock (_lock)
        {
            into.AddRange(received);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition())
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }

        // An empty Export*ServiceResponse: everything accepted.
        context.Response.ContentType = "application/x-protobuf";
    }
}
