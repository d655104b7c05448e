using System.Net;
using Microsoft.AspNetCore.Http;
using Switchboard.Connections;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>The address the per-address limits count: IPv4 as is, IPv6 by /64, IPv4-mapped as IPv4.</summary>
[Trait("Category", "unit")]
public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("2001:db8:1:2::5", "2001:db8:1:2:ffff:ffff:ffff:9", true)]
    [InlineData("2001:db8:1:2::5", "2001:db8:1:3::5", false)]
    [InlineData("::ffff:203.0.113.1", "203.0.113.1", true)]
    [InlineData("203.0.113.1", "203.0.113.2", false)]
    public void AnIpv6ClientIsOneAddressForItsWhole64(string one, string other, bool same)
    {
        Assert.Equal(same, Admission.ClientAddress(With(one)) == Admission.ClientAddress(With(other)));

        static HttpContext With(string address) => new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(address) } };
    }
}
