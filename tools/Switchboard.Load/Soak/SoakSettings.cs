namespace Switchboard.Load.Soak;

/// <summary>What one soak run does; see <see cref="SoakCommand"/> for the meaning of each.</summary>
internal sealed record SoakSettings(
    Uri Url,
    Uri HttpBase,
    int Clients,
    int Rooms,
    double PublishRate,
    TimeSpan Duration,
    int ServerPid,
    double ChurnPercentPerMinute,
    double HostilePercent,
    TimeSpan SampleInterval,
    string? ChartPath,
    string? ApiKey,
    int ConnectConcurrency);
