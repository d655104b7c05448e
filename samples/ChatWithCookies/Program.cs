// A chat app with its own page and its own cookie sign-in, hosting Switchboard under /realtime.
// Everything is in ChatApp, so the tests can start the same app on a free port.
await ChatWithCookies.ChatApp.Build(args).RunAsync();
