using Google.Protobuf;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Just enough of the OTLP protobuf messages to read names: walks length-delimited fields by number
/// (opentelemetry-proto's field numbers), skipping everything else, so no generated code is needed.
/// </summary>
public static class OtlpMessages
{
    /// <summary>ExportTraceServiceRequest: resource_spans(1) / scope_spans(2) / spans(2) / name(5), with the scope's name(1) beside each.</summary>
    public static IEnumerable<(string Scope, string Name)> SpanNames(byte[] request) => Named(request, itemsField: 2, nameField: 5);

    /// <summary>ExportMetricsServiceRequest: resource_metrics(1) / scope_metrics(2) / metrics(2) / name(1), with the scope's name(1) beside each.</summary>
    public static IEnumerable<(string Scope, string Name)> MetricNames(byte[] request) => Named(request, itemsField: 2, nameField: 1);

    private static IEnumerable<(string Scope, string Name)> Named(byte[] request, int itemsField, int nameField)
    {
        foreach (var resource in Fields(request, 1))
        {
            foreach (var scoped in Fields(resource, 2))
            {
                // InstrumentationScope scope = 1 { string name = 1 }
                var scope = Fields(scoped, 1).Select(s => Strings(s, 1).FirstOrDefault()).FirstOrDefault() ?? "";
                foreach (var item in Fields(scoped, itemsField))
                {
                    foreach (var name in Strings(item, nameField))
                    {
                        yield return (scope, name);
                    }
                }
            }
        }
    }

    private static IEnumerable<string> Strings(byte[] message, int field) => Fields(message, field).Select(b => System.Text.Encoding.UTF8.GetString(b));

    /// <summary>The payloads of every length-delimited field numbered <paramref name="field"/> at the top level of <paramref name="message"/>.</summary>
    private static List<byte[]> Fields(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }
}
