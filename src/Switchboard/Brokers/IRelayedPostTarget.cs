namespace Switchboard.Brokers;

/// <summary>Where a relay delivers the posts forwarded to this node: the node's HTTP streams.</summary>
public interface IRelayedPostTarget
{
    /// <summary>
    /// Checks <paramref name="post"/> exactly as a POST made to this node (the session, the identity it
    /// is bound to, the inbox) and queues its commands. Never blocks: a relay calls it on its receive loop.
    /// </summary>
    RelayOutcome Accept(RelayedPost post);
}
