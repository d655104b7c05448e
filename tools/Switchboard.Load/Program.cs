using Switchboard.Load.Cli;

return await LoadCommand.Create(args).Parse(args).InvokeAsync();
