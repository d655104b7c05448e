namespace Switchboard.Redis;

/// <summary>Heartbeats held by a test (<see cref="RedisBroker.HoldBeatsAsync"/>): the loop says it parked, then waits for the release.</summary>
internal sealed class BeatHold
{
    public TaskCompletionSource Parked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
