using Switchboard.Redis;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>How rooms and users map onto shards: stable across processes, even, and moving little when the list grows.</summary>
[Trait("Category", "unit")]
public sealed class ShardRingTests
{
    private static readonly string[] Names = Enumerable.Range(0, 10_000).Select(i => $"room-{i}").ToArray();
    private static readonly int[] ShardCounts = [2, 3, 5, 10];

    [Fact]
    public void OneShardHoldsEverything() => Assert.All(Names.Take(100), n => Assert.Equal(0, ShardRing.IndexOf(n, 1)));

    [Theory]
    // FNV-1a 64 and jump consistent hash, computed independently (a few lines of Python): every node,
    // whatever its version or platform, must put a room on the same shard.
    [InlineData("lobby", new[] { 1, 2, 2, 8 })]
    [InlineData("news", new[] { 1, 2, 3, 3 })]
    [InlineData("alice", new[] { 0, 0, 4, 4 })]
    [InlineData("bob", new[] { 0, 2, 2, 2 })]
    public void ANameMapsToTheSameShardInEveryProcess(string name, int[] expected) =>
        Assert.Equal(expected, ShardCounts.Select(shards => ShardRing.IndexOf(name, shards)));

    [Fact]
    public void NamesSpreadEvenlyOverTheShards()
    {
        var counts = Names.GroupBy(n => ShardRing.IndexOf(n, 4)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([0, 1, 2, 3], counts.Keys.Order());
        Assert.All(counts.Values, c => Assert.InRange(c, 2_200, 2_800));
    }

    [Fact]
    public void GrowingTheListMovesAboutOneNameInNPlusOneAndOnlyToTheNewShard()
    {
        var moved = Names.Where(n => ShardRing.IndexOf(n, 4) != ShardRing.IndexOf(n, 5)).ToArray();
        Assert.InRange(moved.Length, 1_700, 2_300);
        Assert.All(moved, n => Assert.Equal(4, ShardRing.IndexOf(n, 5)));
    }
}
