using SignalRPeer;

// GET /hub?room=R (WebSocket, JSON hub protocol) joins group R; Send(text) goes to every member as "m".
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSignalR(options =>
{
    // Idle members send nothing: the default 30 s client timeout would close them mid-measurement,
    // and the other peers have no such timeout either.
    options.ClientTimeoutInterval = TimeSpan.FromMinutes(30);
    options.MaximumReceiveMessageSize = 64 * 1024;
});
var app = builder.Build();
app.MapHub<RoomHub>("/hub");
await app.RunAsync();
