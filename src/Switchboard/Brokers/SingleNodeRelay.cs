namespace Switchboard.Brokers;

/// <summary>The relay of a broker that serves one node (the in-memory broker): every session is here, so nothing is forwarded.</summary>
public sealed class SingleNodeRelay : ISessionCommandRelay
{
    /// <inheritdoc/>
    public string? NodeId => null;

    /// <inheritdoc/>
    public void Attach(IRelayedPostTarget target)
    {
    }

    /// <inheritdoc/>
    public ValueTask<RelayOutcome> ForwardAsync(string node, RelayedPost post, CancellationToken cancellationToken) =>
        ValueTask.FromResult(RelayOutcome.UnknownSession);
}
