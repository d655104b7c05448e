using System.Net;
using System.Net.WebSockets;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Samples;

/// <summary>
/// The sample app (samples/ChatWithCookies), started in-process on a free port as its Program starts
/// it: its own page at <c>/</c>, its cookie sign-in, and Switchboard under <c>/realtime</c> taking the
/// user and the granted rooms from that cookie.
/// </summary>
[Trait("Category", "integration")]
public sealed class ChatWithCookiesTests : IAsyncLifetime
{
    private SampleHost _sample = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        _sample = await SampleHost.StartAsync();
        _base = _sample.BaseUri;
    }

    public async Task DisposeAsync() => await _sample.DisposeAsync();

    [Fact]
    public async Task TheRootIsTheSamplesOwnPage()
    {
        using var http = Browser(out _);

        var page = await http.GetStringAsync("/");

        Assert.Contains("<title>Chat with cookies</title>", page, StringComparison.Ordinal);
        Assert.Contains("action=\"/login\"", page, StringComparison.Ordinal);
        Assert.Contains("/realtime/switchboard.js", await http.GetStringAsync("/chat.js"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignedOutRequestsToSwitchboardGet401NotARedirectToTheSignInPage()
    {
        using var http = Browser(out _);
        using (var api = await http.GetAsync("/realtime/api/rooms"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        }

        using (var script = await http.GetAsync("/realtime/switchboard.js"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, script.StatusCode);
        }

        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(Ws("realtime/ws"), CancellationToken.None).WaitAsync(ProtocolClient.DefaultTimeout));
        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    [Fact]
    public async Task ASignedInUserChatsUnderTheNameOfTheCookie()
    {
        using var bobBrowser = Browser(out var bobCookies);
        using var aliceBrowser = Browser(out var aliceCookies);
        await SignInAsync(bobBrowser, "bob");
        await SignInAsync(aliceBrowser, "alice");
        using (var script = await bobBrowser.GetAsync("/realtime/switchboard.js"))
        {
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.StartsWith("text/javascript", script.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        }

        // No token and no ?user=: the browser's cookie is the identity, as on the sample's page.
        await using var bob = await ProtocolClient.ConnectAsync(Ws("realtime/ws"), o => o.Cookies = bobCookies);
        await using var alice = await ProtocolClient.ConnectAsync(Ws("realtime/ws"), o => o.Cookies = aliceCookies);
        Assert.Equal("bob", (await bob.ExpectAsync("welcome")).GetProperty("user").GetString());
        Assert.Equal("alice", (await alice.ExpectAsync("welcome")).GetProperty("user").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await bob.RequestAsync("""{"op":"join","room":"lobby"}""")).GetProperty("op").GetString());

        await bob.RequestAsync("""{"op":"publish","room":"lobby","data":{"text":"hi alice"}}""");

        var message = await alice.ExpectAsync(m => m.GetProperty("op").GetString() == "message");
        Assert.Equal("bob", message.GetProperty("from").GetString());
        Assert.Equal("hi alice", message.GetProperty("data").GetProperty("text").GetString());
    }

    [Fact]
    public async Task OnlyTheRoomsTheSignInGrantedMayBeJoined()
    {
        using var bobBrowser = Browser(out var bobCookies);
        using var aliceBrowser = Browser(out var aliceCookies);
        await SignInAsync(bobBrowser, "bob");
        await SignInAsync(aliceBrowser, "alice");
        await using var bob = await ProtocolClient.ConnectAsync(Ws("realtime/ws"), o => o.Cookies = bobCookies);
        await using var alice = await ProtocolClient.ConnectAsync(Ws("realtime/ws"), o => o.Cookies = aliceCookies);
        await bob.ExpectAsync("welcome");
        await alice.ExpectAsync("welcome");

        // alice is on the sample's staff list (Chat:Staff, default "alice"); bob is not.
        Assert.Equal(ErrorCodes.Forbidden, (await bob.RequestAsync("""{"op":"join","room":"staff"}""")).GetProperty("code").GetString());
        Assert.Equal(ErrorCodes.Forbidden, (await bob.RequestAsync("""{"op":"join","room":"elsewhere"}""")).GetProperty("code").GetString());
        Assert.Equal("reply", (await bob.RequestAsync("""{"op":"join","room":"random"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await bob.RequestAsync("""{"op":"join","room":"user:bob"}""")).GetProperty("op").GetString());
        Assert.Equal("reply", (await alice.RequestAsync("""{"op":"join","room":"staff"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task AfterSigningOutTheUpgradeIsRefused()
    {
        using var http = Browser(out var cookies);
        await SignInAsync(http, "carol");
        await using (var before = await ProtocolClient.ConnectAsync(Ws("realtime/ws"), o => o.Cookies = cookies))
        {
            Assert.Equal("carol", (await before.ExpectAsync("welcome")).GetProperty("user").GetString());
        }

        using (var logout = await http.PostAsync("/logout", null))
        {
            Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        }

        using var after = new ClientWebSocket();
        after.Options.CollectHttpResponseDetails = true;
        after.Options.Cookies = cookies;
        await Assert.ThrowsAsync<WebSocketException>(() => after.ConnectAsync(Ws("realtime/ws"), CancellationToken.None).WaitAsync(ProtocolClient.DefaultTimeout));
        Assert.Equal(HttpStatusCode.Unauthorized, after.HttpStatusCode);
    }

    [Fact]
    public async Task ANameOutsideTheUserIdRulesIsNotSignedIn()
    {
        using var http = Browser(out var cookies);
        using var response = await http.PostAsync("/login", new FormUrlEncodedContent([new("name", "not a name")]));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/?error=name", response.Headers.Location?.OriginalString);
        Assert.Empty(cookies.GetCookies(_base));
    }

    /// <summary>An HTTP client that keeps its cookies, as a browser does, and does not follow redirects.</summary>
    private HttpClient Browser(out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(10) };
    }

    private static async Task SignInAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsync("/login", new FormUrlEncodedContent([new("name", name)]));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
    }

    private Uri Ws(string path) => _sample.Ws(path);
}
