using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Load.Reporting;

/// <summary>The JSON form of a <see cref="RunResult"/>, for worker results and <c>--json</c>.</summary>
internal static class RunResultJson
{
    public static string Serialize(RunResult result) => JsonSerializer.Serialize(result, RunResultJsonContext.Default.RunResult);

    public static RunResult Deserialize(string json) =>
        JsonSerializer.Deserialize(json, RunResultJsonContext.Default.RunResult) ?? throw new JsonException("empty result");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RunResult))]
internal sealed partial class RunResultJsonContext : JsonSerializerContext;
