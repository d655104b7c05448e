using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A session's life on an in-memory transport: cleanup that nothing can skip, and a closing session
/// that acts no more.
/// </summary>
[Trait("Category", "unit")]
public sealed class SessionLifetimeTests
{
    [Fact]
    public async Task ATransportFailingInAnUnforeseenWayStillReleasesTheRegistryEntryAndTheUserCount()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker, new Dictionary<string, string?> { ["Switchboard:Limits:MaxConnectionsPerUser"] = "1" });
        var transport = new RecordingTransport { FailClose = new InvalidOperationException("test: a defect in the transport") };
        var identity = new ConnectionIdentity("alice", true, null, []);

        var run = node.Sessions.RunAsync(transport, "s1", identity, node.Protocol, "/ws", (_, _) => Task.CompletedTask);
        Assert.Contains("\"op\":\"welcome\"", await transport.NextAsync(), StringComparison.Ordinal);
        transport.PeerClose();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, node.Registry.Count);
        // The per-user count was released too: the same user may connect again at a limit of one.
        var again = new RecordingTransport();
        var second = node.Sessions.RunAsync(again, "s2", identity, node.Protocol, "/ws", (code, _) => throw new InvalidOperationException("refused with " + code));
        Assert.Contains("\"op\":\"welcome\"", await again.NextAsync(), StringComparison.Ordinal);
        again.PeerClose();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AClosingSessionRunsNoFurtherCommandsEvenFromTheFrameItAlreadySent()
    {
        var broker = new ScriptedBroker();
        await using var node = new InProcessNode(broker);
        var (alice, wire) = node.Open("alice");
        await node.Hub.JoinAsync(alice, "lobby", null, true, default, CancellationToken.None);

        alice.RequestClose(CloseCodes.RateLimited, "rate limit exceeded repeatedly");
        await node.Protocol.OnMessageAsync(alice, "{\"op\":\"publish\",\"room\":\"lobby\",\"data\":1}\n{\"op\":\"leave\",\"room\":\"lobby\"}"u8.ToArray(), isBinary: false);

        Assert.Equal(0, broker.Count("publish lobby"));
        Assert.True(alice.Rooms.ContainsKey("lobby"), "the leave after the close did not run either");
        Assert.Equal(CloseCodes.RateLimited, (await wire.Closed.WaitAsync(TimeSpan.FromSeconds(5))).Code);
    }

    [Fact]
    public void TheCloseRequestIsPublishedWholeAndOnlyTheFirstCounts()
    {
        var transport = new RecordingTransport();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new SwitchboardMetrics(services.GetRequiredService<IMeterFactory>());
        using var session = new Connection(transport, "s", null, true, new LimitsOptions(), metrics, NullLogger.Instance);

        session.RequestClose(CloseCodes.GoingAway, "draining", flush: true);
        session.RequestClose(CloseCodes.SlowConsumer, "later");

        Assert.Equal(new CloseRequest(CloseCodes.GoingAway, "draining", true), session.Close);
    }
}
