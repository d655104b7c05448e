using System.Security.Cryptography;

namespace Switchboard.Dashboard;

/// <summary>The directory of a broker that serves one node (the in-memory broker): it knows only itself.</summary>
public sealed class SingleNodeDirectory : INodeDirectory
{
    /// <inheritdoc/>
    public string NodeId { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <inheritdoc/>
    public bool SeesCluster => false;

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<NodeReport>> ExchangeAsync(NodeReport self, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NodeReport>>([self]);
}
