using KestrelPeer;

// GET /ws?room=R joins room R; every text frame a member sends goes to every member, the sender included.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton<Rooms>();
var app = builder.Build();
app.UseWebSockets();
app.Map("/ws", (HttpContext context, Rooms rooms) => Member.RunAsync(context, rooms));
await app.RunAsync();
