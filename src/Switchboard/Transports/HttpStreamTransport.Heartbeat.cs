using System.Buffers;
using System.Diagnostics;
using Switchboard.Connections;

namespace Switchboard.Transports;

internal sealed partial class HttpStreamTransport
{
    /// <summary>
    /// Every heartbeat interval, writes the framing's heartbeat (an SSE comment) when nothing else is
    /// being written, so that proxies keep an idle stream and a vanished reader eventually fails a
    /// write. A write (the session's or a heartbeat) stalled for longer than the interval plus
    /// <c>Heartbeat:TimeoutSeconds</c> means the client stopped reading: the session is aborted, as a
    /// WebSocket that misses its pongs is. Runs for the length of <see cref="ReceiveAsync"/>, which awaits it.
    /// </summary>
    private async Task RunHeartbeatAsync(Connection session, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var started = Volatile.Read(ref _writeStartedAt);
                if (started != 0)
                {
                    if (Stopwatch.GetElapsedTime(started) > HeartbeatInterval + StallTimeout)
                    {
                        session.Abort();
                        return;
                    }

                    continue;
                }

                if (!_writeLock.Wait(0, CancellationToken.None))
                {
                    // A write is starting: it proves the stream alive as well as a heartbeat would.
                    continue;
                }

                try
                {
                    if (_ended)
                    {
                        return;
                    }

                    Volatile.Write(ref _writeStartedAt, Stopwatch.GetTimestamp());
                    _body.Write(_framing.Heartbeat);
                    using var stall = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    stall.CancelAfter(StallTimeout);
                    await FlushAsync(stall.Token).ConfigureAwait(false);
                }
                finally
                {
                    EndWrite();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            if (!stop.IsCancellationRequested)
            {
                // The heartbeat stalled or the stream broke: this session alone ends.
                session.Abort();
            }
        }
    }
}
