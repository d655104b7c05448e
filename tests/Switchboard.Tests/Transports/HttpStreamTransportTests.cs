using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Transports;
using Xunit;

namespace Switchboard.Tests.Transports;

/// <summary>The HTTP stream transport in process, on a response body held in memory.</summary>
[Trait("Category", "unit")]
public sealed class HttpStreamTransportTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly DefaultHttpContext _context = new();
    private readonly MemoryStream _body = new();

    public HttpStreamTransportTests()
    {
        _context.Response.Body = _body;
    }

    [Fact]
    public void PostsBeyondTheInboxAreRefusedAsFullAndAfterTheCloseAsClosed()
    {
        using var transport = NewTransport(ServerSentEventsFraming.Instance);
        for (var i = 0; i < HttpStreamTransport.InboxCapacity; i++)
        {
            Assert.Equal(PostOutcome.Accepted, transport.TryPost("{}"u8.ToArray()));
        }

        Assert.Equal(PostOutcome.Full, transport.TryPost("{}"u8.ToArray()));
        transport.Abort();
        Assert.Equal(PostOutcome.Closed, transport.TryPost("{}"u8.ToArray()));
    }

    [Fact]
    public async Task ABatchIsWrittenAsOneEventPerMessageEachWithItsIdAndTheCloseEndsTheStream()
    {
        using var transport = NewTransport(ServerSentEventsFraming.Instance);

        await transport.SendAsync(Encoding.UTF8.GetBytes("""{"op":"reply","id":1,"room":"r","offset":3,"epoch":"e"}""" + "\n" + """{"op":"message","room":"r","from":"a","offset":4,"data":1}"""), false, CancellationToken.None);
        await transport.CloseAsync(CloseCodes.GoingAway, "bye", CancellationToken.None);

        Assert.Equal(
            "id: r~e~3\ndata: {\"op\":\"reply\",\"id\":1,\"room\":\"r\",\"offset\":3,\"epoch\":\"e\"}\n\n"
            + "id: r~e~4\ndata: {\"op\":\"message\",\"room\":\"r\",\"from\":\"a\",\"offset\":4,\"data\":1}\n\n"
            + "id: r~e~4\ndata: {\"op\":\"close\",\"code\":1001,\"reason\":\"bye\"}\n\n",
            Encoding.UTF8.GetString(_body.ToArray()));
    }

    [Fact]
    public async Task NewlineDelimitedJsonCarriesTheSameMessagesWithoutIds()
    {
        using var transport = NewTransport(NdjsonFraming.Instance);

        await transport.SendAsync(BinaryFrames.EncodeMessage("r", "a", 4, [1, 2]), true, CancellationToken.None);

        Assert.Equal("{\"op\":\"message\",\"room\":\"r\",\"from\":\"a\",\"offset\":4,\"binary\":\"AQI=\"}\n", Encoding.UTF8.GetString(_body.ToArray()));
    }

    public void Dispose()
    {
        _body.Dispose();
        _services.Dispose();
    }

    private HttpStreamTransport NewTransport(IStreamFraming framing) =>
        new(_context, framing, framing.CarriesIds ? StreamCursor.Parse(null, 128) : null, new HeartbeatOptions(), new SwitchboardMetrics(_services.GetRequiredService<IMeterFactory>()));
}
