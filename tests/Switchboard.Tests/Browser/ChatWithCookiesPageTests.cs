using Microsoft.Playwright;
using Switchboard.Tests.Samples;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The sample app's own page in Chromium: sign in through its form, and the page's JS client
/// connects under <c>/realtime</c> with nothing but the cookie, and chats.
/// </summary>
[Collection(BrowserGroup.Name)]
[Trait("Category", "external")]
public sealed class ChatWithCookiesPageTests(ChromiumFixture chromium)
{
    [Fact]
    public async Task TwoSignedInPagesChatAndEachSeesOnlyItsGrantedRooms()
    {
        await using var sample = await SampleHost.StartAsync();
        // A context per user: separate cookie jars, as two browsers.
        await using var aliceContext = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = sample.BaseUri.ToString() });
        await using var bobContext = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = sample.BaseUri.ToString() });
        var alice = await SignInAsync(aliceContext, "alice");
        var bob = await SignInAsync(bobContext, "bob");

        await Expect(alice.Locator("#rooms button")).ToHaveTextAsync(["lobby", "random", "staff"]);
        await Expect(bob.Locator("#rooms button")).ToHaveTextAsync(["lobby", "random"]);

        await bob.FillAsync("#text", "hello from bob");
        await bob.ClickAsync("#send button");

        await Expect(alice.Locator("#messages li")).ToHaveTextAsync(["bobhello from bob"]);
        await Expect(bob.Locator("#messages li")).ToHaveTextAsync(["bobhello from bob"]);
    }

    private static async Task<IPage> SignInAsync(IBrowserContext context, string name)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.FillAsync("#login input[name=name]", name);
        await page.ClickAsync("#login button");
        await Expect(page.Locator("#me")).ToHaveTextAsync(name);
        await Expect(page.Locator("#state")).ToHaveAttributeAsync("data-state", "connected");
        // Joined, not just connected: a publication before the join reply would not reach this page.
        await Expect(page.Locator("#messages")).ToHaveAttributeAsync("data-joined", "lobby");
        return page;
    }
}
