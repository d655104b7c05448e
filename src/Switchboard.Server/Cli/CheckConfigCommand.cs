using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Redis;

namespace Switchboard.Server.Cli;

/// <summary>
/// <c>check-config</c>: validates the configuration exactly as the server would at start-up, then prints
/// the effective settings with every secret masked, so the output can be pasted into a ticket.
/// </summary>
internal static partial class CheckConfigCommand
{
    private const string Mask = "***";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) } };

    public static Command Create()
    {
        var command = new Command("check-config", "Validate the configuration (appsettings.json, appsettings.{Environment}.json, environment variables, arguments) and print the effective settings with secrets masked. Exit code 0 when valid, 2 when not.");
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse => Check([.. parse.UnmatchedTokens]));
        return command;
    }

    private static int Check(string[] hostArgs)
    {
        JsonObject settings;
        string environment;
        try
        {
            var app = ServerHost.CreateBuilder(hostArgs).Build();
            environment = app.Environment.EnvironmentName;
            var switchboard = app.Services.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
            settings = (JsonObject)JsonSerializer.SerializeToNode(switchboard, Json)!;
            if (switchboard.Broker == "redis")
            {
                settings["Redis"] = JsonSerializer.SerializeToNode(app.Services.GetRequiredService<IOptions<RedisBrokerOptions>>().Value, Json);
            }
        }
        catch (Exception ex) when (ServerHost.ConfigurationError(ex) is { } message)
        {
            Console.Error.WriteLine("invalid configuration:\n  " + message);
            return ServerHost.InvalidConfiguration;
        }

        MaskSecrets(settings);
        Console.Out.WriteLine($"configuration is valid (environment {environment}); effective settings:");
        Console.Out.WriteLine(new JsonObject { ["Switchboard"] = settings }.ToJsonString(Json));
        return 0;
    }

    /// <summary>
    /// Masks every value of a setting whose name says it is secret (<c>...Secret</c>, <c>...Password</c>,
    /// <c>...Key</c>, <c>...Keys</c>, <c>...Token</c>, <c>...Headers</c>: the JWT secret, the API keys,
    /// exporter headers) and the credentials inside connection strings (<c>password=</c>, <c>user=</c>),
    /// wherever they sit, so a setting added later is masked without being listed here. An unset
    /// setting stays visibly unset (null or empty): that is what an operator checks.
    /// </summary>
    internal static void MaskSecrets(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject settings:
                foreach (var (name, value) in settings.ToList())
                {
                    if (SecretName().IsMatch(name))
                    {
                        settings[name] = MaskValues(value);
                    }
                    else
                    {
                        MaskSecrets(value);
                    }
                }

                break;
            case JsonArray items:
                foreach (var item in items)
                {
                    MaskSecrets(item);
                }

                break;
            case JsonValue value when value.TryGetValue<string>(out var text) && Credentials().IsMatch(text):
                value.ReplaceWith(Credentials().Replace(text, "$1" + Mask));
                break;
        }
    }

    private static JsonNode? MaskValues(JsonNode? value) => value switch
    {
        JsonArray items => new JsonArray([.. items.Select(MaskValues)]),
        JsonObject entries => new JsonObject(entries.Select(entry => KeyValuePair.Create(entry.Key, MaskValues(entry.Value)))),
        JsonValue text when text.TryGetValue<string>(out var s) => s.Length == 0 ? "" : Mask,
        _ => value?.DeepClone(), // null, numbers and switches (AllowWithoutKey) are not secrets
    };

    [GeneratedRegex("(Secret|Password|Keys?|Token|Headers)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex("((?:password|user)=)[^,;]*", RegexOptions.IgnoreCase)]
    private static partial Regex Credentials();
}
