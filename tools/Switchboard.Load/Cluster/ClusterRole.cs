namespace Switchboard.Load.Cluster;

/// <summary>How this process takes part in a run.</summary>
internal enum ClusterRole
{
    /// <summary>The whole run is this one process.</summary>
    Single,

    /// <summary>This process launched the workers, runs its own share, publishes and reports.</summary>
    Coordinator,

    /// <summary>A copy launched by the coordinator: runs its share of connections and sends back a result.</summary>
    Worker,
}
