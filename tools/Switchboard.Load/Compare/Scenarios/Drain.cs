namespace Switchboard.Load.Compare.Scenarios;

/// <summary>Waits for a condition (polled every 20 ms) up to a timeout.</summary>
internal static class Drain
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
