using Switchboard.Brokers;

namespace Switchboard.Tests.Brokers;

/// <summary>A broker under test with the recording node attached to it.</summary>
public sealed record BrokerNode(IBroker Broker, RecordingHandler Handler);
