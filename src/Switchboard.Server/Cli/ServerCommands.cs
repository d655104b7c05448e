using System.CommandLine;

namespace Switchboard.Server.Cli;

/// <summary>
/// The server binary's command line. Without a command it runs the server; every argument it does not
/// know (<c>--urls</c>, <c>--environment</c>, <c>--Switchboard:Broker redis</c>) goes to the host's
/// configuration, for the commands too, so they see the settings the server would.
/// </summary>
internal static class ServerCommands
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "Switchboard real-time messaging server. Without a command it serves; host arguments such as --urls http://0.0.0.0:8080, "
            + "--environment Development or --Switchboard:Broker redis set configuration (docs/configuration.md).")
        {
            TokenCommand.Create(),
            CheckConfigCommand.Create(),
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction((parse, _) => ServerHost.RunAsync([.. parse.UnmatchedTokens]));
        return root;
    }
}
