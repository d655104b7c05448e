using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Switchboard.Tests.Browser;

/// <summary>The demo chat in its own browser context (own storage), as one user in one room.</summary>
public sealed partial class ChatPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly ITestOutputHelper _output;
    private readonly string _user;

    private ChatPage(IBrowserContext context, IPage page, ITestOutputHelper output, string user)
    {
        _context = context;
        Page = page;
        _output = output;
        _user = user;
        // Script errors and warnings go to the test output, where a failure can be understood.
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                _output.WriteLine($"[{_user} console {message.Type}] {message.Text}");
            }
        };
        page.PageError += (_, error) => _output.WriteLine($"[{_user} page error] {error}");
    }

    public IPage Page { get; }

    /// <summary>The connection badge: <c>data-state</c> is connecting, connected, reconnecting or closed.</summary>
    public ILocator State => Page.Locator("#state");

    /// <summary>The member list, one item per user (<c>data-user</c>).</summary>
    public ILocator Members => Page.Locator("#members li");

    /// <summary>The text of every text message shown, in the order shown.</summary>
    public ILocator Texts => Page.Locator("#messages li .text");

    public ILocator Images => Page.Locator("#messages li img.image");

    public ILocator Notice => Page.Locator("#notice");

    /// <summary>Opens <c>/?user=USER&amp;room=ROOM</c>, which joins at once, and waits until connected.</summary>
    public static async Task<ChatPage> OpenAsync(IBrowser browser, Uri site, string user, string room, ITestOutputHelper output, int width = 1100, int height = 720)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(20_000);
        var setup = Task.CompletedTask;
        PrepareContext(context, ref setup);
        await setup;
        var page = await context.NewPageAsync();
        var chat = new ChatPage(context, page, output, user);
        await page.GotoAsync(new Uri(site, $"?user={Uri.EscapeDataString(user)}&room={Uri.EscapeDataString(room)}").ToString());
        await Assertions.Expect(chat.State).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(page.Locator("#room-title")).ToHaveTextAsync("#" + room);
        return chat;
    }

    public async Task SendAsync(string text)
    {
        await Page.FillAsync("#text", text);
        await Page.ClickAsync("#send");
    }

    /// <summary>A hook for local experiments (for example a client build under development); none by default.</summary>
    static partial void PrepareContext(IBrowserContext context, ref Task setup);

    public async ValueTask DisposeAsync() => await _context.CloseAsync().WaitAsync(TimeSpan.FromSeconds(10));
}
