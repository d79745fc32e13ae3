// Configuration of the incident module (CprDesk:Incidents) and of the Bugzilla watch (CprDesk:Bugzilla).
using System.Text.RegularExpressions;

namespace CprDesk.Compliance.Incidents;

public sealed partial class IncidentOptions
{
    public const string Section = "CprDesk:Incidents";
    /// <summary>The CA Owner name exactly as in the CCADB; bug summaries begin with it.</summary>
    public string? CaOwnerName { get; set; }
    /// <summary>The CA Owner's CCADB unique ID: "A" followed by six digits.</summary>
    public string? CaOwnerCcadbId { get; set; }
    public string ClockRulesFile { get; set; } = "rules/incident-clocks.json";
    /// <summary>Folder of IRG template versions (one subfolder per version, each with a manifest.json).</summary>
    public string TemplatesDirectory { get; set; } = "rules/irg";
    public string TemplateVersion { get; set; } = "3.2";

    /// <summary>Throws at start-up on a malformed CCADB ID: a wrong ID would go into every report.</summary>
    public void Validate()
    {
        if (!string.IsNullOrWhiteSpace(CaOwnerCcadbId) && !CcadbId().IsMatch(CaOwnerCcadbId.Trim()))
            throw new InvalidOperationException($"{Section}:CaOwnerCcadbId '{CaOwnerCcadbId}' is not a CCADB unique ID ('A' followed by six digits, e.g. A000123).");
    }

    public static bool IsCcadbId(string? id) => id is not null && CcadbId().IsMatch(id);

    public static string Resolve(string file) =>
        Path.IsPathRooted(file) ? file
        : File.Exists(file) || Directory.Exists(file) ? Path.GetFullPath(file)
        : Path.Combine(AppContext.BaseDirectory, file);

    [GeneratedRegex("^A[0-9]{6}$")]
    private static partial Regex CcadbId();
}

public sealed class BugzillaOptions
{
    public const string Section = "CprDesk:Bugzilla";
    public string BaseUrl { get; set; } = "https://bugzilla.mozilla.org";
    public string Product { get; set; } = "CA Program";
    public string Component { get; set; } = "CA Certificate Compliance";
    /// <summary>How far back the related-incidents finder looks (the IRG asks for at least two years).</summary>
    public int RelatedYears { get; set; } = 2;
    /// <summary>New bugs left unreviewed longer than this raise the alarm.</summary>
    public TimeSpan ReviewWithin { get; set; } = TimeSpan.FromDays(7);
}
