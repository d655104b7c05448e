namespace Switchboard.Load.Compare;

/// <summary>
/// A closed loop for fan-out: at most <see cref="Size"/> publications are out at once, and one
/// counts as done when every member has it. That finds each target's own maximum rate without
/// letting any queue (the gorilla hub drops a client whose queue is full) grow without bound.
/// </summary>
internal sealed class PublicationWindow : IDisposable
{
    // Sequence numbers are counted in a ring; it must be far longer than the window so that a slot
    // is never reused while its publication is still out.
    private const int Ring = 4096;

    private readonly int[] _counts = new int[Ring];
    private readonly int _members;
    private readonly SemaphoreSlim _free;

    public PublicationWindow(int size, int members)
    {
        if (size <= 0 || size >= Ring / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"the window must be between 1 and {(Ring / 2) - 1}");
        }

        Size = size;
        _members = members;
        _free = new SemaphoreSlim(size, size);
    }

    public int Size { get; }

    /// <summary>Waits for a free slot; false when none came within <paramref name="timeout"/> (a message was lost).</summary>
    public Task<bool> WaitForSlotAsync(TimeSpan timeout, CancellationToken cancellationToken) => _free.WaitAsync(timeout, cancellationToken);

    public void Delivered(long sequence)
    {
        ref var count = ref _counts[sequence % Ring];
        if (Interlocked.Increment(ref count) == _members)
        {
            Volatile.Write(ref count, 0);
            _free.Release();
        }
    }

    public void Dispose() => _free.Dispose();
}
