using Microsoft.AspNetCore.Routing.Patterns;

namespace Switchboard.Options;

/// <summary>Start-up checks of <see cref="PathsOptions"/>.</summary>
internal static class PathRules
{
    public static void Validate(PathsOptions paths, Action<bool, string, string> require)
    {
        (string Key, string Path, string? Parameter)[] clientFacing =
        [
            ("WebSocket", paths.WebSocket, null),
            ("Rooms", paths.Rooms, "room"),
            ("Echo", paths.Echo, null),
            ("Events", paths.Events, null),
            ("EventCommands", paths.EventCommands, "session"),
            ("Stream", paths.Stream, null),
            ("Api", paths.Api, null),
            ("ClientScript", paths.ClientScript, null),
            ("ClientTypes", paths.ClientTypes, null),
        ];
        (string Key, string Path, string? Parameter)[] probes =
        [
            ("Health", paths.Health, null),
            ("Ready", paths.Ready, null),
            ("Metrics", paths.Metrics, null),
        ];
        foreach (var (key, path, parameter) in clientFacing.Concat(probes))
        {
            var pattern = Parse(path);
            require(pattern is not null, "Paths:" + key, $"must be a route path starting with '/' and naming more than '/' (got '{path}')");
            if (pattern is not null)
            {
                var parameters = pattern.Parameters.Select(p => p.Name).ToArray();
                require(parameter is null ? parameters.Length == 0 : parameters.SequenceEqual([parameter]), "Paths:" + key,
                    parameter is null ? $"must have no route parameters (got '{path}')" : $"must have the one route parameter {{{parameter}}} (got '{path}')");
            }
        }

        // Endpoints of one group on one path would make routing ambiguous; the probes are mapped
        // outside the prefix, so they are compared among themselves.
        RequireDistinct(clientFacing, require);
        RequireDistinct(probes, require);
    }

    private static RoutePattern? Parse(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.TrimEnd('/').Length == 0 || path.IndexOfAny(['?', '#', ' ']) >= 0)
        {
            return null;
        }

        try
        {
            return RoutePatternFactory.Parse(path);
        }
        catch (RoutePatternException)
        {
            return null;
        }
    }

    private static void RequireDistinct((string Key, string Path, string? Parameter)[] paths, Action<bool, string, string> require)
    {
        foreach (var group in paths.GroupBy(p => p.Path.TrimEnd('/'), StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            require(false, "Paths:" + string.Join(", Paths:", group.Select(p => p.Key)), $"must differ (all are '{group.Key}')");
        }
    }
}
