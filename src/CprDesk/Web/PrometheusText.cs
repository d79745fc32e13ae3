// Prometheus text exposition (version 0.0.4): a family's HELP and TYPE lines, then its samples.
using System.Globalization;
using System.Text;

namespace CprDesk.Web;

internal static class PrometheusText
{
    public static void Family(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <param name="labels">Already escaped, without braces: <c>channel="api"</c>.</param>
    public static void Sample(StringBuilder sb, string name, double value, string? labels = null) =>
        sb.Append(name).Append(labels is null ? "" : "{" + labels + "}").Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    public static void Sample(StringBuilder sb, string name, long value, string? labels = null) =>
        sb.Append(name).Append(labels is null ? "" : "{" + labels + "}").Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    /// <summary>Label value escaping: backslash, double quote, newline.</summary>
    public static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
