using Switchboard.Brokers;
using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>A publication is encoded once and every reader, on any thread, gets the same whole frame.</summary>
[Trait("Category", "unit")]
public sealed class PublicationEncodingTests
{
    [Fact]
    public async Task ThreadsRacingForTheFirstEncodingAllGetTheSameArrays()
    {
        for (var round = 0; round < 200; round++)
        {
            var publication = new Publication("stadium", 7, "alice", "{\"text\":\"hi\"}"u8.ToArray(), isBinary: false, DateTimeOffset.UnixEpoch);
            using var start = new Barrier(4);
            var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(5));
                return (publication.LiveFrame.Data, publication.Json);
            })).ToArray();
            var seen = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(10));

            Assert.All(seen, s => Assert.Same(seen[0].Data, s.Data));
            Assert.All(seen, s => Assert.Same(seen[0].Json, s.Json));
            Assert.False(publication.LiveFrame.IsBinary);
            Assert.Equal("{\"op\":\"message\",\"room\":\"stadium\",\"from\":\"alice\",\"offset\":7,\"data\":{\"text\":\"hi\"}}", System.Text.Encoding.UTF8.GetString(seen[0].Data));
        }
    }
}
