namespace Switchboard.Redis;

/// <summary>
/// A step held by a test (<see cref="RedisBroker.HoldBeatsAsync"/>, <see cref="RedisBroker.HoldPresenceRetriesAsync"/>):
/// the step says it parked, then waits for the release.
/// </summary>
internal sealed class TestHold
{
    public TaskCompletionSource Parked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
