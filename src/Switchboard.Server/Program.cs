using Switchboard.Server.Cli;

// The host only parses the command line and starts the library; everything Switchboard does lives in src/Switchboard.
return await ServerCommands.Create().Parse(args).InvokeAsync();
