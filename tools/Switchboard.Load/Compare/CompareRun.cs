using System.Net;
using Switchboard.Load.Client;
using Switchboard.Load.Compare.Scenarios;

namespace Switchboard.Load.Compare;

/// <summary>Runs every scenario against every target, each with fresh server processes, one after the other.</summary>
internal static class CompareRun
{
    // Beyond the scenario's own duration: starting servers, connecting, draining and closing.
    private static readonly TimeSpan Allowance = TimeSpan.FromMinutes(3);

    public static async Task<IReadOnlyList<TargetRun>> RunAsync(CompareSettings settings, CancellationToken cancellationToken)
    {
        var runs = new List<TargetRun>();
        using var connector = new WebSocketConnector(IPAddress.Loopback, []);
        foreach (var scenario in settings.Scenarios)
        {
            foreach (var name in settings.Targets)
            {
                var target = PeerTarget.Create(name, settings.Configuration);
                var run = new TargetRun(scenario, name);
                runs.Add(run);
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(BoundFor(scenario, settings));
                var context = new ScenarioContext(settings, target, connector, bounded.Token);
                await Console.Error.WriteLineAsync($"[{DateTime.UtcNow:HH:mm:ss}] {scenario} on {name}");
                try
                {
                    await RunScenarioAsync(scenario, context, run);
                }
                catch (OperationCanceledException) when (bounded.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    ScenarioContext.Note(run, $"stopped after its bound of {BoundFor(scenario, settings).TotalSeconds:N0} s");
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.Net.WebSockets.WebSocketException or IOException or System.Net.Http.HttpRequestException or System.ComponentModel.Win32Exception)
                {
                    // A server that would not start or a connection that broke mid-scenario fails
                    // this target's run only; the next target starts fresh.
                    ScenarioContext.Note(run, $"{ex.GetType().Name}: {ex.Message}");
                }

                foreach (var problem in run.Problems)
                {
                    await Console.Error.WriteLineAsync($"  {name}: {problem}");
                }
            }
        }

        return runs;
    }

    private static Task RunScenarioAsync(string scenario, ScenarioContext context, TargetRun run) => scenario switch
    {
        "connect" => ConnectScenario.RunAsync(context, run),
        "churn" => ChurnScenario.RunAsync(context, run),
        "idle" => IdleScenario.RunAsync(context, run),
        "small-rooms" => SmallRoomsScenario.RunAsync(context, run),
        "fanout" => FanoutScenario.RunAsync(context, run),
        _ => throw new InvalidOperationException($"unknown scenario {scenario}"),
    };

    /// <summary>The longest one scenario may take on one target; past it the scenario is stopped and reported.</summary>
    private static TimeSpan BoundFor(string scenario, CompareSettings settings)
    {
        var parts = scenario switch
        {
            "idle" => settings.IdleConnections.Count + 1,
            "fanout" => settings.FanoutSubscribers.Count,
            _ => 1,
        };
        return parts * (settings.Duration + settings.IdleSettle + Allowance);
    }
}
