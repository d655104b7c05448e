using System.Collections.Concurrent;
using System.Globalization;

namespace Switchboard.Load.Cluster;

/// <summary>The worker's side: reads the coordinator's lines from stdin, writes its own to stdout.</summary>
internal sealed partial class LoadCluster
{
    private readonly ConcurrentDictionary<string, Action<long>> _handlers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _coordinatorGone = new();
    private readonly Lock _stdoutLock = new();
    private Task? _stdinReader;

    /// <summary>Cancelled when the coordinator closes this worker's stdin (it finished or died).</summary>
    public CancellationToken CoordinatorGone => _coordinatorGone.Token;

    private void StartReadingCoordinator() => _stdinReader = Task.Run(ReadCoordinatorAsync);

    private async Task ReadCoordinatorAsync()
    {
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ', 3);
            if (parts is ["GO", var phase])
            {
                Signal($"go:{phase}").TrySetResult(0);
            }
            else if (parts is ["SET", var name, var text] && long.TryParse(text, CultureInfo.InvariantCulture, out var value))
            {
                if (_handlers.TryGetValue(name, out var handler))
                {
                    handler(value);
                }

                Signal($"set:{name}").TrySetResult(value);
            }
        }

        await _coordinatorGone.CancelAsync();
        foreach (var signal in _signals.Values)
        {
            signal.TrySetException(new InvalidOperationException("the coordinating process went away"));
        }
    }

    private void WriteToCoordinator(string line)
    {
        lock (_stdoutLock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
