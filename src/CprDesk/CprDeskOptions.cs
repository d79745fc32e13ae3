namespace CprDesk;

/// <summary>Settings from appsettings.json, environment variables (CprDesk__DataDirectory, …) and
/// command-line options, in rising order of precedence.</summary>
public sealed class CprDeskOptions
{
    public const string Section = "CprDesk";
    public string DataDirectory { get; set; } = "./data";
    /// <summary>Semicolon-separated URLs to listen on.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5080";
    /// <summary>Total size of a submission's attachments (web form and API).</summary>
    public long MaxAttachmentBytes { get; set; } = 25L * 1024 * 1024;
    /// <summary>The public base URL used in status links; the request's own host when unset.</summary>
    public string? PublicBaseUrl { get; set; }
    /// <summary>The clock rules file; relative paths are resolved against the program's folder.</summary>
    public string RulesFile { get; set; } = "rules/tls-br.json";
    /// <summary>The escalation policy file; relative paths are resolved like <see cref="RulesFile"/>.</summary>
    public string EscalationPolicyFile { get; set; } = "rules/escalation.json";

    /// <summary>Mark cookies Secure even on plain HTTP (set when TLS terminates in front of CprDesk).</summary>
    public bool SecureCookies { get; set; }

    public string ResolveRulesFile() => Resolve(RulesFile);

    public string ResolveEscalationPolicyFile() => Resolve(EscalationPolicyFile);

    private static string Resolve(string file) =>
        Path.IsPathRooted(file) ? file
        : File.Exists(file) ? Path.GetFullPath(file)
        : Path.Combine(AppContext.BaseDirectory, file);
}
