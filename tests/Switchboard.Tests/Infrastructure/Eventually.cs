namespace Switchboard.Tests.Infrastructure;

/// <summary>Waits for a condition on server state that no event announces, with a deadline.</summary>
public static class Eventually
{
    /// <summary>
    /// Re-checks <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes. The
    /// short delay between checks is a polling interval, never a wait for something to happen.
    /// </summary>
    public static async Task TrueAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting until " + because);
            }

            await Task.Delay(10);
        }
    }

    /// <summary>As <see cref="TrueAsync(Func{bool}, string, TimeSpan?)"/>, for a condition that must be fetched, such as a scrape of <c>/metrics</c>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting until " + because);
            }

            await Task.Delay(10);
        }
    }
}
