using System.Security.Cryptography;

namespace Switchboard.Dashboard;

/// <summary>The directory of a broker that serves one node (the in-memory broker): it knows only itself.</summary>
internal sealed class SingleNodeDirectory : INodeDirectory
{
    public string NodeId { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public bool SeesCluster => false;

    public ValueTask<IReadOnlyList<NodeReport>> ExchangeAsync(NodeReport self, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NodeReport>>([self]);
}
