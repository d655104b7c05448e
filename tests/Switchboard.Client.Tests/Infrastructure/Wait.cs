namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>Deadlines for every await in the tests, and a condition poll for state no event announces.</summary>
public static class Wait
{
    /// <summary>Long enough for a loaded two-core machine; a hang fails the test instead of the run.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Re-checks <paramref name="condition"/> until it holds. The short delay between checks is a
    /// polling interval, never a wait for something to happen.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, string because)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting until " + because);
            }

            await Task.Delay(10);
        }
    }

    /// <summary>A completion source whose continuations never run inline on the client's receive loop.</summary>
    public static TaskCompletionSource<T> Signal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
