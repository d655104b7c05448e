using System.Text.Json;

namespace Switchboard.Tests.Infrastructure;

/// <summary>A <see cref="ProtocolClient"/> on <c>/ws</c> as an <see cref="ISessionClient"/>.</summary>
public sealed class WebSocketSessionClient(ProtocolClient client) : ISessionClient
{
    public ProtocolClient Client { get; } = client;

    public Task SendAsync(string json) => Client.SendAsync(json);

    public Task<int> SendWithIdAsync(string jsonObject) => Client.SendWithIdAsync(jsonObject);

    public Task<JsonElement> RequestAsync(string jsonObject) => Client.RequestAsync(jsonObject);

    public Task<JsonElement> NextAsync(TimeSpan? timeout = null) => Client.NextAsync(timeout);

    public Task<JsonElement> ExpectAsync(string op, TimeSpan? timeout = null) => Client.ExpectAsync(op, timeout);

    public Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null) => Client.ExpectAsync(match, timeout);

    public async Task<int?> WaitForCloseAsync(TimeSpan? timeout = null) => (int?)await Client.WaitForCloseAsync(timeout);

    public Task CloseAsync() => Client.CloseAsync();

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
