using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Metrics;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Reads one node's observable gauges in-process, by instrument name (<c>switchboard.connections</c>),
/// for a node that has stopped serving <c>/metrics</c>. Only that node's meter is read.
/// </summary>
public static class NodeGauges
{
    public static IReadOnlyDictionary<string, long> Read(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var meter = services.GetRequiredService<SwitchboardMetrics>().Meter;
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.IsObservable)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
