using System.Globalization;
using System.Net;
using KestrelConnPeer;
using Microsoft.AspNetCore.Connections;

// GET /ws?room=R joins room R; every text or binary message a member sends goes to every member,
// the sender included. No HTTP pipeline: the listener hands each accepted connection to the handler.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var port = int.Parse(builder.Configuration["port"] ?? throw new ArgumentException("usage: KestrelConnPeer --port N"), CultureInfo.InvariantCulture);
builder.Services.AddSingleton<Rooms>();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseConnectionHandler<WebSocketConnectionHandler>()));
await using var app = builder.Build();
await app.RunAsync();
