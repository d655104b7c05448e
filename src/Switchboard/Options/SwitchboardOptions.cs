namespace Switchboard.Options;

/// <summary>
/// Everything configurable about a Switchboard node, bound from the <c>Switchboard</c> configuration
/// section (so <c>Switchboard__Limits__MaxMessageBytes</c> in the environment). Validated at start-up.
/// </summary>
public sealed class SwitchboardOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Switchboard";

    /// <summary>Which broker carries publications between nodes: <c>memory</c> (one node) is the only one so far.</summary>
    public string Broker { get; set; } = "memory";

    /// <summary>Sizes, counts and queue bounds.</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Per-room history retention.</summary>
    public HistoryOptions History { get; set; } = new();

    /// <summary>WebSocket ping interval and timeout.</summary>
    public HeartbeatOptions Heartbeat { get; set; } = new();

    /// <summary>How connections get their user id.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Graceful shutdown.</summary>
    public ShutdownOptions Shutdown { get; set; } = new();
}
