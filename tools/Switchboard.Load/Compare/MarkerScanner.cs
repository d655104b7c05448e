namespace Switchboard.Load.Compare;

/// <summary>
/// Finds <c>@timestamp#sequence</c> markers in a stream of frame chunks (a marker may straddle two
/// reads) and reports each one; a probe (<c>#p</c>) is reported with <see cref="WireText.Probe"/>.
/// </summary>
internal struct MarkerScanner
{
    private State _state;
    private long _timestamp;
    private long _sequence;

    private enum State
    {
        Seeking,
        Timestamp,
        SequenceStart,
        Sequence,
    }

    /// <summary>Scans <paramref name="chunk"/>; calls <paramref name="found"/> for every complete marker.</summary>
    public void Feed<TSink>(ReadOnlySpan<byte> chunk, ref TSink found)
        where TSink : struct, IMarkerSink
    {
        foreach (var b in chunk)
        {
            switch (_state)
            {
                case State.Seeking:
                    if (b == (byte)'@')
                    {
                        _timestamp = 0;
                        _state = State.Timestamp;
                    }

                    break;
                case State.Timestamp:
                    if (IsDigit(b))
                    {
                        _timestamp = (_timestamp * 10) + (b - '0');
                    }
                    else
                    {
                        _state = b == (byte)'#' ? State.SequenceStart : State.Seeking;
                    }

                    break;
                case State.SequenceStart:
                    if (IsDigit(b))
                    {
                        _sequence = b - '0';
                        _state = State.Sequence;
                    }
                    else
                    {
                        if (b == (byte)'p')
                        {
                            found.Marker(_timestamp, WireText.Probe);
                        }

                        _state = State.Seeking;
                    }

                    break;
                case State.Sequence:
                    if (IsDigit(b))
                    {
                        _sequence = (_sequence * 10) + (b - '0');
                    }
                    else
                    {
                        found.Marker(_timestamp, _sequence);
                        _state = b == (byte)'@' ? State.Timestamp : State.Seeking;
                        _timestamp = 0;
                    }

                    break;
            }
        }
    }

    /// <summary>Ends a frame: a sequence that ran to the frame's last byte is complete.</summary>
    public void EndOfFrame<TSink>(ref TSink found)
        where TSink : struct, IMarkerSink
    {
        if (_state == State.Sequence)
        {
            found.Marker(_timestamp, _sequence);
        }

        _state = State.Seeking;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
}

/// <summary>Receives the markers <see cref="MarkerScanner"/> finds.</summary>
internal interface IMarkerSink
{
    void Marker(long timestamp, long sequence);
}
