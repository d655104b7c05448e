using System.IO.Hashing;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>
/// Where a node's deliveries run: a fixed set of workers, each a bounded queue drained by one loop.
/// Everything for one room (or one user) goes to the same worker, chosen by its name's hash, so it is
/// handled in the order it was queued and by one thread at a time; different rooms run in parallel.
/// </summary>
/// <remarks>
/// StackExchange.Redis 2.x and later run <c>Action</c> subscription handlers concurrently on the
/// thread pool, in no order. Each subscription is therefore a <see cref="ChannelMessageQueue"/>,
/// which StackExchange.Redis fills in the order Redis sent, on its reader thread, with one cheap
/// write; the queue's own loop only moves each message here. The fan-out to local members (10,000
/// enqueues for a big room) thus never runs on a Redis I/O thread, and a big room delays only the
/// rooms that share its worker, for at most the work already queued there.
/// A full worker queue makes the queue's loop (or the local publisher) wait: nothing is dropped, and
/// what waits is the one room's or user's message, never the Redis reader.
/// </remarks>
internal sealed class DeliveryWorkers
{
    /// <summary>
    /// Workers per node: many more than cores, so that a busy room shares its worker with few others
    /// (one room in 64 on average); an idle worker is one pending read and costs no thread.
    /// </summary>
    public const int Count = 64;

    /// <summary>Items queued per worker before writers wait: a few hundred milliseconds of a very busy room.</summary>
    public const int Capacity = 1024;

    private readonly Channel<DeliveryItem>[] _queues = new Channel<DeliveryItem>[Count];
    private readonly Task[] _loops = new Task[Count];
    private readonly ILogger _logger;

    public DeliveryWorkers(ILogger logger)
    {
        _logger = logger;
        for (var i = 0; i < Count; i++)
        {
            _queues[i] = Channel.CreateBounded<DeliveryItem>(new BoundedChannelOptions(Capacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
                // Writers are Redis queue loops and publishers: they must not run the worker's fan-out inline.
                AllowSynchronousContinuations = false,
            });
            _loops[i] = RunAsync(_queues[i].Reader);
        }
    }

    /// <summary>
    /// The worker of <paramref name="key"/> (a room, or <c>user:</c> and a user). The same in every
    /// process (string hash codes are randomized per process), so a benchmark's rooms land alike on every run.
    /// </summary>
    public static int WorkerOf(string key) => (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(key)) % Count);

    /// <summary>Queues <paramref name="item"/> on its key's worker; waits while that worker is full. False once stopped.</summary>
    public async ValueTask<bool> PostAsync(int worker, DeliveryItem item)
    {
        var writer = _queues[worker].Writer;
        if (writer.TryWrite(item))
        {
            return true;
        }

        try
        {
            await writer.WriteAsync(item).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Lets every worker finish what is queued, then stops them.</summary>
    public async Task StopAsync()
    {
        foreach (var queue in _queues)
        {
            queue.Writer.TryComplete();
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private async Task RunAsync(ChannelReader<DeliveryItem> reader)
    {
        await Task.Yield();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                try
                {
                    item.Target.Deliver(item);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A defect in one delivery must not stop the worker: every room behind it would go silent.
                    Log.DeliveryFailed(_logger, item.Target.Name, ex);
                }
            }
        }
    }
}

/// <summary>Something a delivery worker runs items for: a room's feed or a user's channel.</summary>
internal interface IDeliveryTarget
{
    /// <summary>The room or user, for logs.</summary>
    string Name { get; }

    /// <summary>Handles one item, on the target's worker, in queue order.</summary>
    void Deliver(in DeliveryItem item);
}

/// <summary>A message from the target's channel, or (with <see cref="Local"/>) a publication of this node's own.</summary>
internal readonly record struct DeliveryItem(IDeliveryTarget Target, RedisValue Message, Publication? Local = null, string? Epoch = null);
