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

    /// <summary>
    /// Opens <c>/?user=USER&amp;room=ROOM</c>, which joins at once, and (unless told not to) waits until connected.
    /// <paramref name="initScript"/> runs in the page before any of its scripts (for example to take WebSocket away).
    /// </summary>
    public static async Task<ChatPage> OpenAsync(IBrowser browser, Uri site, string user, string room, ITestOutputHelper output, int width = 1100, int height = 720, bool waitUntilJoined = true, string? initScript = null)
    {
        var chat = await NewAsync(browser, user, output, width, height);
        if (initScript is not null)
        {
            await chat.Page.AddInitScriptAsync(initScript);
        }

        await chat.Page.GotoAsync(new Uri(site, $"?user={Uri.EscapeDataString(user)}&room={Uri.EscapeDataString(room)}").ToString());
        if (waitUntilJoined)
        {
            await chat.WaitUntilJoinedAsync(room);
        }

        return chat;
    }

    /// <summary>Opens <c>/</c> and joins as a person does: name and room typed into the form. <paramref name="beforeJoin"/> sees the form.</summary>
    public static async Task<ChatPage> JoinThroughTheFormAsync(IBrowser browser, Uri site, string user, string room, ITestOutputHelper output, Func<IPage, Task> beforeJoin, int width = 390, int height = 844)
    {
        var chat = await NewAsync(browser, user, output, width, height);
        await chat.Page.GotoAsync(site.ToString());
        await Assertions.Expect(chat.Page.Locator("#join-form")).ToBeVisibleAsync();
        await chat.Page.FillAsync("#name", user);
        await chat.Page.FillAsync("#room", room);
        await beforeJoin(chat.Page);
        await chat.Page.ClickAsync("#join");
        await chat.WaitUntilJoinedAsync(room);
        return chat;
    }

    private static async Task<ChatPage> NewAsync(IBrowser browser, string user, ITestOutputHelper output, int width, int height)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(20_000);
        var setup = Task.CompletedTask;
        PrepareContext(context, ref setup);
        await setup;
        return new ChatPage(context, await context.NewPageAsync(), output, user);
    }

    private async Task WaitUntilJoinedAsync(string room)
    {
        await Assertions.Expect(State).ToHaveAttributeAsync("data-state", "connected");
        await Assertions.Expect(Page.Locator("#room-title")).ToHaveTextAsync("#" + room);
        await Assertions.Expect(Page.Locator("#chat")).ToHaveAttributeAsync("data-joined", "true");
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
