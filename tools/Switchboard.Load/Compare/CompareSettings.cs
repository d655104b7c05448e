namespace Switchboard.Load.Compare;

/// <summary>The <c>compare</c> command's options, checked.</summary>
internal sealed record CompareSettings(
    IReadOnlyList<string> Scenarios,
    IReadOnlyList<string> Targets,
    TimeSpan Duration,
    int ConnectClients,
    int ConnectConcurrency,
    int ChurnConcurrency,
    IReadOnlyList<int> IdleConnections,
    TimeSpan IdleSettle,
    int SmallRoomsClients,
    int RoomSize,
    double SmallRoomsDeliveryRate,
    IReadOnlyList<int> FanoutSubscribers,
    int Window,
    int PayloadBytes,
    int? ServerCore,
    int? LoadCore,
    string RepoRoot,
    string Configuration,
    string? JsonPath)
{
    /// <summary>Every scenario, in the order <c>all</c> runs them.</summary>
    public static readonly IReadOnlyList<string> AllScenarios = ["connect", "churn", "idle", "small-rooms", "fanout"];

    /// <summary>One process of the tool holds at most this many sockets (20,000 open files per process).</summary>
    public const int MaxClientsPerProcess = 19_000;
}
