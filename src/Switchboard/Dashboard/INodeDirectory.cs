namespace Switchboard.Dashboard;

/// <summary>
/// Where the dashboard learns about the other nodes of a deployment. Each node hands in its own
/// report once a second and gets back the latest report of every live node.
/// </summary>
public interface INodeDirectory
{
    /// <summary>This node's id, as shown on the dashboard.</summary>
    string NodeId { get; }

    /// <summary>True when <see cref="ExchangeAsync"/> sees the whole deployment, false when only this node.</summary>
    bool SeesCluster { get; }

    /// <summary>Records <paramref name="self"/> and returns every live node's latest report, this one included.</summary>
    ValueTask<IReadOnlyList<NodeReport>> ExchangeAsync(NodeReport self, CancellationToken cancellationToken);
}
