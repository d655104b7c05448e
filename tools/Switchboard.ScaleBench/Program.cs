using Switchboard.ScaleBench;

return await BenchCommand.Create().Parse(args).InvokeAsync();
