namespace Switchboard.Brokers;

/// <summary>
/// Carries a POST of commands for an HTTP stream's session to the node that holds the stream, so that
/// several nodes need no sticky sessions (centrifuge's bidirectional emulation does the same). A
/// broker that spans nodes implements it (the Redis broker); a single node uses
/// <see cref="SingleNodeRelay"/>, which forwards nothing.
/// </summary>
/// <remarks>
/// Session ids name their node: <c>NODE.RANDOM</c> when <see cref="NodeId"/> is set, so a node that
/// receives a POST for a session it does not hold knows where to send it without a lookup.
/// </remarks>
public interface ISessionCommandRelay
{
    /// <summary>
    /// This node's id as session ids carry it (16 lowercase hex digits), or null when there is no other
    /// node to forward to: session ids are then 32 hex digits, as before.
    /// </summary>
    string? NodeId { get; }

    /// <summary>Connects the relay to the node's streams, which take the posts forwarded to this node. Called once, at start.</summary>
    void Attach(IRelayedPostTarget target);

    /// <summary>
    /// Hands <paramref name="post"/> to node <paramref name="node"/> and waits for its answer: what its
    /// streams made of the post, <see cref="RelayOutcome.UnknownSession"/> when no such node listens,
    /// <see cref="RelayOutcome.Unavailable"/> when the broker could not send it (nothing was posted), or
    /// <see cref="RelayOutcome.NoAnswer"/> when the node did not answer in time (the post may have run).
    /// </summary>
    ValueTask<RelayOutcome> ForwardAsync(string node, RelayedPost post, CancellationToken cancellationToken);
}
