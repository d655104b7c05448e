using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The demo chat in pages where a WebSocket cannot be opened (as behind a proxy that refuses the
/// upgrade): the JavaScript client falls back to server-sent events and the chat works as before.
/// </summary>
[Collection(BrowserGroup.Name)]
[Trait("Category", "external")]
public sealed class SseFallbackTests(ChromiumFixture chromium, ITestOutputHelper output)
{
    /// <summary>
    /// Runs before the page's scripts: every WebSocket is refused, and the event streams the page
    /// opens are counted, so the test knows which transport carried the chat.
    /// </summary>
    private const string BlockWebSockets = """
        window.__webSocketsRefused = 0;
        window.__eventStreams = 0;
        window.WebSocket = class {
          constructor() {
            window.__webSocketsRefused++;
            throw new Error("blocked by the test: no WebSocket here");
          }
        };
        const NativeEventSource = window.EventSource;
        window.EventSource = class extends NativeEventSource {
          constructor(url, init) {
            super(url, init);
            window.__eventStreams++;
          }
        };
        """;

    [Fact]
    public async Task TwoPagesWithoutWebSocketsChatOverServerSentEvents()
    {
        await using var node = await HostNode.StartAsync();
        var room = "sse-" + Guid.NewGuid().ToString("N")[..6];

        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", room, output, initScript: BlockWebSockets);
        await using var bob = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "bob", room, output, width: 390, height: 844, initScript: BlockWebSockets);
        await Expect(alice.Members).ToHaveTextAsync(["alice", "bob"]);
        await Expect(bob.Members).ToHaveTextAsync(["alice", "bob"]);

        await alice.SendAsync("hello bob, over SSE");
        await Expect(bob.Texts).ToHaveTextAsync(["hello bob, over SSE"]);
        await bob.SendAsync("hi alice");
        await Expect(alice.Texts).ToHaveTextAsync(["hello bob, over SSE", "hi alice"]);

        // A message from the HTTP API arrives on both streams too.
        await node.PublishAsync(room, "from the server");
        await Expect(alice.Texts).ToHaveTextAsync(["hello bob, over SSE", "hi alice", "from the server"]);
        await Expect(bob.Texts).ToHaveTextAsync(["hello bob, over SSE", "hi alice", "from the server"]);

        foreach (var page in new[] { alice.Page, bob.Page })
        {
            Assert.True(await page.EvaluateAsync<int>("window.__webSocketsRefused") >= 1, "the page tried a WebSocket first");
            Assert.Equal(1, await page.EvaluateAsync<int>("window.__eventStreams"));
        }
    }
}
