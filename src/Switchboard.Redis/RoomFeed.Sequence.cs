using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>The sequencer proper: every method here runs under the feed's lock.</summary>
internal sealed partial class RoomFeed
{
    private void SetBaselineLocked(string epoch, ulong top)
    {
        _epoch = epoch;
        _delivered = top;
        _hasBaseline = true;
        foreach (var (publication, early) in _early)
        {
            // The baseline was read after the subscription started: an early message of another
            // epoch is older than it (or a newer epoch's first, whose successors show the gap).
            if (early == epoch)
            {
                OfferLocked(publication, early);
            }
        }

        _early.Clear();
    }

    private void OfferLocked(Publication publication, string epoch)
    {
        if (epoch != _epoch)
        {
            if (_retired.Contains(epoch))
            {
                return;
            }

            // A new epoch: the room's stream was lost and started again. Members hold positions in
            // the old one that mean nothing now.
            LoseLocked($"the room's stream restarted with epoch {epoch}");
            StartEpochLocked(epoch, 0);
        }

        if (publication.Offset <= _delivered)
        {
            // An echo, or a duplicate of a read; or a publication under an offset Redis handed out again.
            CheckRepeatLocked(publication.Offset, publication.Time.ToUnixTimeMilliseconds());
            return;
        }

        if (publication.Offset == _delivered + 1)
        {
            DeliverLocked(publication);
            DrainLocked();
            return;
        }

        _pending.Enqueue(publication, publication.Offset);
        if (_pending.Count > MaxPending)
        {
            var next = _pending.Peek().Offset;
            LoseLocked($"offsets {_delivered + 1} to {next - 1} did not arrive while {MaxPending} later ones did");
            _delivered = next - 1;
            DrainLocked();
        }
    }

    /// <param name="read">What the stream held.</param>
    /// <param name="readAfter">The epoch and offset delivered when the read was sent (null for a baseline read): in that epoch the top it returns cannot be below that offset, unless Redis handed offsets out again. Deliveries made while the read was on its way may be above it.</param>
    private void ApplyReadLocked(FeedRead read, (string Epoch, ulong Offset)? readAfter)
    {
        if (!_hasBaseline)
        {
            SetBaselineLocked(read.Epoch, read.Top);
            return;
        }

        if (read.Epoch != _epoch)
        {
            if (_retired.Contains(read.Epoch))
            {
                return;
            }

            LoseLocked($"the room's stream restarted with epoch {read.Epoch}");
            StartEpochLocked(read.Epoch, read.Top);
            return;
        }

        if (readAfter is { } before && before.Epoch == read.Epoch && read.Top < before.Offset)
        {
            RotateLocked($"its top in Redis is {read.Top}, below the {before.Offset} delivered before it was read");
            return;
        }

        foreach (var publication in read.Publications)
        {
            if (publication.Offset > _delivered)
            {
                _pending.Enqueue(publication, publication.Offset);
            }
        }

        DrainLocked();
        if (_delivered < read.Top)
        {
            // The stream holds neither these offsets nor anything before the next one: trimmed by
            // History:Size or History:TtlSeconds before this node could fill the gap.
            LoseLocked($"offsets {_delivered + 1} to {read.Top} are no longer retained");
            while (_pending.TryPeek(out _, out var offset) && offset <= read.Top)
            {
                _pending.Dequeue();
            }

            _delivered = read.Top;
            DrainLocked();
        }
    }

    private void StartEpochLocked(string epoch, ulong top)
    {
        if (_epoch.Length > 0)
        {
            _retired.Enqueue(_epoch);
            if (_retired.Count > RetiredEpochsKept)
            {
                _retired.Dequeue();
            }
        }

        _epoch = epoch;
        _pending.Clear();
        _probeTop = 0;
        _delivered = top;
        // The times remembered were the old epoch's: under the new one the same offsets are other publications.
        Array.Clear(_recent);
    }

    private void LoseLocked(string reason)
    {
        _broker.OnStreamLost(Room, reason);
        // Waiting publishers must not wait for offsets that will never be delivered here.
        CompleteWaitersLocked(all: true);
    }

    private void DeliverLocked(Publication publication)
    {
        _broker.Handler.OnPublication(publication);
        _delivered = publication.Offset;
        RememberLocked(publication.Offset, publication.Time.ToUnixTimeMilliseconds());
    }

    /// <summary>Delivers the waiting offsets that now follow on; drops the duplicates (the same offset can come by pub/sub and by a read).</summary>
    private void DrainLocked()
    {
        while (_pending.TryPeek(out var publication, out var next) && next <= _delivered + 1)
        {
            _pending.Dequeue();
            if (next == _delivered + 1)
            {
                DeliverLocked(publication);
            }
        }
    }

    /// <summary>Whether offsets wait behind a missing one (after a drain, anything still waiting does).</summary>
    private bool HasGapLocked => _pending.Count > 0;

    private void AfterChangeLocked()
    {
        CompleteWaitersLocked(all: false);
        if (HasGapLocked)
        {
            StartFillLocked();
        }
        else if (_gapClosed is { } closed)
        {
            _gapClosed = null;
            closed.TrySetResult();
        }
    }

    private void CompleteWaitersLocked(bool all)
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (all || _waiters[i].Offset <= _delivered)
            {
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    private void RequestCatchUpLocked()
    {
        _catchUpRequested = true;
        StartFillLocked();
    }

    private void StartFillLocked()
    {
        if (!_filling)
        {
            _filling = true;
            _fill = FillLoopAsync();
        }
    }
}
