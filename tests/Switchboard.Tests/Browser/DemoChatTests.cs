using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>The demo chat at <c>/</c> of the shipped host, in Chromium: two people in one room.</summary>
[Collection(BrowserGroup.Name)]
[Trait("Category", "external")]
public sealed class DemoChatTests(ChromiumFixture chromium, ITestOutputHelper output)
{
    // An 8x8 red PNG: small enough to go as it is.
    private static readonly byte[] SmallPng = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGO4YGCAFTEMLQkA2ntMAeuWKpoAAAAASUVORK5CYII=");

    [Fact]
    public async Task TwoPagesChatInARoomAndSeeEachOtherInTheMemberList()
    {
        var shots = new Screenshots(output, nameof(TwoPagesChatInARoomAndSeeEachOtherInTheMemberList));
        await using var node = await HostNode.StartAsync();
        var room = "lobby-" + Guid.NewGuid().ToString("N")[..6];

        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", room, output);
        await Expect(alice.Members).ToHaveTextAsync(["alice"]);
        await shots.TakeAsync(alice.Page, "alice-alone");

        await using var bob = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "bob", room, output, width: 390, height: 844);
        // Alice learns of bob from the joined event; bob reads both from presence().
        await Expect(alice.Members).ToHaveTextAsync(["alice", "bob"]);
        await Expect(bob.Members).ToHaveTextAsync(["alice", "bob"]);
        await Expect(alice.Page.Locator("#member-count")).ToHaveAttributeAsync("data-count", "2");

        await alice.SendAsync("hello bob");
        await Expect(bob.Texts).ToHaveTextAsync(["hello bob"]);
        await bob.SendAsync("hi alice, from my phone");
        await Expect(alice.Texts).ToHaveTextAsync(["hello bob", "hi alice, from my phone"]);
        await Expect(bob.Page.Locator("#messages li.mine .text")).ToHaveTextAsync(["hi alice, from my phone"]);

        // An image goes as a binary publication and is shown as an image on the other page.
        await alice.Page.SetInputFilesAsync("#image", new FilePayload { Name = "red.png", MimeType = "image/png", Buffer = SmallPng });
        await Expect(bob.Images).ToHaveCountAsync(1);
        await Expect(bob.Images.First).ToHaveJSPropertyAsync("naturalWidth", 8);
        await shots.TakeAsync(alice.Page, "alice-desktop");
        await shots.TakeAsync(bob.Page, "bob-phone");

        // A third page joining later reads the history.
        await using (var carol = await ChatPage.JoinThroughTheFormAsync(chromium.Browser, node.BaseUri, "carol", room, output,
            form => shots.TakeAsync(form, "carol-join-form-phone")))
        {
            await Expect(carol.Texts).ToHaveTextAsync(["hello bob", "hi alice, from my phone"]);
            await Expect(carol.Images).ToHaveCountAsync(1);
            await Expect(alice.Members).ToHaveTextAsync(["alice", "bob", "carol"]);
            await shots.TakeAsync(carol.Page, "carol-history");
        }

        // Carol's page closed: she leaves the others' member lists.
        await Expect(alice.Members).ToHaveTextAsync(["alice", "bob"]);
    }

    [Fact]
    public async Task AnImageOverTheMessageLimitIsScaledDownOrRefusedWithAVisibleMessage()
    {
        var shots = new Screenshots(output, nameof(AnImageOverTheMessageLimitIsScaledDownOrRefusedWithAVisibleMessage));
        await using var node = await HostNode.StartAsync();
        var room = "images-" + Guid.NewGuid().ToString("N")[..6];
        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", room, output);
        await using var bob = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "bob", room, output);

        // A 1600x1200 picture of smooth gradients: megabytes as PNG, far over the 64 KiB default.
        await alice.Page.EvaluateAsync("""
            async () => {
              const canvas = new OffscreenCanvas(1600, 1200);
              const g = canvas.getContext("2d");
              const gradient = g.createLinearGradient(0, 0, 1600, 1200);
              gradient.addColorStop(0, "#2f6fde"); gradient.addColorStop(1, "#e07b24");
              g.fillStyle = gradient; g.fillRect(0, 0, 1600, 1200);
              for (let i = 0; i < 4000; i++) { g.fillStyle = `hsl(${i % 360} 70% 50% / .5)`; g.fillRect((i * 37) % 1600, (i * 91) % 1200, 9, 9); }
              const blob = await canvas.convertToBlob({ type: "image/png" });
              const data = new DataTransfer();
              data.items.add(new File([blob], "big.png", { type: "image/png" }));
              document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data }));
              return blob.size;
            }
            """);
        await Expect(alice.Notice).ToContainTextAsync("scaled down");
        await Expect(bob.Images).ToHaveCountAsync(1);
        var width = await bob.Images.First.EvaluateAsync<int>("img => img.decode().then(() => img.naturalWidth)");
        Assert.InRange(width, 100, 1280);
        await shots.TakeAsync(alice.Page, "scaled");

        // Something that is not an image is refused with a message, and nothing is sent.
        await alice.Page.SetInputFilesAsync("#image", new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "not an image"u8.ToArray() });
        await Expect(alice.Notice).ToContainTextAsync("not an image");
        await Expect(bob.Images).ToHaveCountAsync(1);
        await shots.TakeAsync(alice.Page, "refused");
    }

    [Fact]
    public async Task WhereTheQueryUserIdentityIsOffThePageSaysWhyItCannotConnect()
    {
        var shots = new Screenshots(output, nameof(WhereTheQueryUserIdentityIsOffThePageSaysWhyItCannotConnect));
        await using var node = await HostNode.StartAsync(new Dictionary<string, string>
        {
            ["Switchboard__Auth__AllowQueryUser"] = "false",
            ["Switchboard__Auth__AllowAnonymous"] = "false",
        });
        await using var alice = await ChatPage.OpenAsync(chromium.Browser, node.BaseUri, "alice", "lobby", output, waitUntilJoined: false);

        // 4501 forbids reconnecting: the page stops and explains.
        await Expect(alice.State).ToHaveAttributeAsync("data-state", "closed");
        await Expect(alice.State).ToContainTextAsync("4501");
        await Expect(alice.Notice).ToContainTextAsync("AllowQueryUser");
        await shots.TakeAsync(alice.Page, "refused");
    }
}
