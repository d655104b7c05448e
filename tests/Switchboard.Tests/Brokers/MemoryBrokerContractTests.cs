using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Brokers;
using Switchboard.Options;

using Xunit;

namespace Switchboard.Tests.Brokers;

/// <summary>The broker contract against the in-memory broker.</summary>
[Trait("Category", "unit")]
public sealed class MemoryBrokerContractTests : BrokerContractTests
{
    private readonly Dictionary<BrokerNode, FakeTimeProvider> _clocks = [];

    protected override Task<BrokerNode> StartNodeAsync(int historySize = 100, double historyTtlSeconds = 300)
    {
        // The contract reads rooms no node has subscribed to, as a backend's history call may; Redis keeps
        // their history always, the memory broker when told to.
        var options = new SwitchboardOptions { History = { Size = historySize, TtlSeconds = historyTtlSeconds, KeepUnjoinedRooms = true } };
        // Starts at a fixed instant and moves only when the test says.
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var broker = new MemoryBroker(Microsoft.Extensions.Options.Options.Create(options), clock);
        var handler = new RecordingHandler();
        broker.Attach(handler);
        var node = new BrokerNode(broker, handler);
        _clocks[node] = clock;
        return Task.FromResult(node);
    }

    protected override void Age(BrokerNode node, TimeSpan age) => _clocks[node].Advance(age);
}
