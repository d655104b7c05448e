using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A Switchboard node without Kestrel or sockets: the real hub, sessions and behaviours over the
/// broker the test gives, with sessions on <see cref="RecordingTransport"/>s.
/// </summary>
public sealed class InProcessNode : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    /// <param name="broker">The node's broker.</param>
    /// <param name="settings">Configuration keys over the defaults.</param>
    /// <param name="time">The node's clock (a <c>FakeTimeProvider</c> to drive timers step by step); the system clock when null.</param>
    public InProcessNode(IBroker broker, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowQueryUser"] = "true",
            ["Switchboard:Auth:AllowAnonymous"] = "true",
            ["Switchboard:Rooms:AllowAll"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(config).Build())
            .AddLogging()
            .AddSingleton(broker);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddSwitchboard();
        _services = services.BuildServiceProvider();
    }

    public IServiceProvider Services => _services;

    public SwitchboardHub Hub => _services.GetRequiredService<SwitchboardHub>();

    public ConnectionRegistry Registry => _services.GetRequiredService<ConnectionRegistry>();

    internal SessionHost Sessions => _services.GetRequiredService<SessionHost>();

    internal global::Switchboard.Endpoints.ProtocolBehavior Protocol => _services.GetRequiredService<global::Switchboard.Endpoints.ProtocolBehavior>();

    public LimitsOptions Limits => _services.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Limits;

    /// <summary>A session of <paramref name="user"/> with its send loop running, outside any endpoint.</summary>
    internal (Connection Session, RecordingTransport Transport) Open(string user)
    {
        var transport = new RecordingTransport();
        var session = new Connection(transport, "s-" + user, new ConnectionIdentity(user, true, null, []), batchText: true, Limits,
            _services.GetRequiredService<SwitchboardMetrics>(), NullLogger.Instance);
        session.Authenticate(session.Identity!);
        _ = session.RunSendLoopAsync(); // never throws; ends with the session's close
        return (session, transport);
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
