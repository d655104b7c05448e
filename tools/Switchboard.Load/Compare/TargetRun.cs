namespace Switchboard.Load.Compare;

/// <summary>What one scenario measured on one target, and whether the target served every client it was asked to.</summary>
internal sealed class TargetRun(string scenario, string target)
{
    public string Scenario { get; } = scenario;

    public string Target { get; } = target;

    /// <summary>Connections that were open at the peak, over every part of the scenario.</summary>
    public long Connections { get; set; }

    /// <summary>Connections the scenario asked for at that peak.</summary>
    public long ConnectionsAsked { get; set; }

    /// <summary>Messages delivered to clients (probes excluded; for churn and idle, the echoes and probes that proved a join).</summary>
    public long Deliveries { get; set; }

    public List<Figure> Figures { get; } = [];

    /// <summary>Why the target did not serve the scenario fully (refused connections, lost messages, a crash); empty when it did.</summary>
    public List<string> Problems { get; } = [];

    public bool Served => Problems.Count == 0 && Connections >= ConnectionsAsked && Deliveries > 0;

    public void Add(string name, string unit, double value, bool higherIsBetter) => Figures.Add(new Figure(name, unit, value, higherIsBetter));
}
