using Switchboard.Load.Compare;
using Xunit;

namespace Switchboard.Tests.Compare;

/// <summary>The fan-out's closed loop: a slot comes back only when every member has the publication.</summary>
[Trait("Category", "unit")]
public sealed class PublicationWindowTests
{
    private static readonly TimeSpan NoWait = TimeSpan.Zero;

    [Fact]
    public async Task APublicationFreesItsSlotOnlyOnceEveryMemberHasIt()
    {
        using var window = new PublicationWindow(size: 1, members: 3);
        Assert.True(await window.WaitForSlotAsync(NoWait, CancellationToken.None));

        window.Delivered(0);
        window.Delivered(0);
        Assert.False(await window.WaitForSlotAsync(NoWait, CancellationToken.None));

        window.Delivered(0);
        Assert.True(await window.WaitForSlotAsync(NoWait, CancellationToken.None));
    }

    [Fact]
    public async Task ASequenceNumberReusedAroundTheRingStartsFromZero()
    {
        using var window = new PublicationWindow(size: 1, members: 2);
        for (long sequence = 0; sequence < 10_000; sequence++)
        {
            Assert.True(await window.WaitForSlotAsync(NoWait, CancellationToken.None), $"slot for {sequence}");
            window.Delivered(sequence);
            window.Delivered(sequence);
        }
    }
}
