namespace Switchboard.Load.Compare;

/// <summary>One measured value of one target: a row of the comparison table.</summary>
/// <param name="Name">The row, e.g. "connects/s" or "idle bytes/conn @10000".</param>
/// <param name="HigherIsBetter">Rates are; costs (CPU, memory, latency) are not.</param>
internal sealed record Figure(string Name, string Unit, double Value, bool HigherIsBetter);
