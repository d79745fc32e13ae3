namespace CprDesk.Evidence;

/// <summary>Configuration section CprDesk:Evidence.</summary>
public sealed class EvidenceSettings
{
    public const string Section = "CprDesk:Evidence";
    /// <summary>Base64 of 32 bytes; unset: a key generated once into the data directory (evidence.kek).</summary>
    public string? KeyEncryptionKey { get; set; }
    /// <summary>Fetch CRLs linked from reports (off by default: a report must not make us fetch arbitrary URLs).</summary>
    public bool FetchCrls { get; set; }
    public int FetchTimeoutSeconds { get; set; } = 10;
    public long MaxFetchBytes { get; set; } = 20 * 1024 * 1024;
    public CrtShSettings CrtSh { get; set; } = new();
    /// <summary>How often the background service looks for work when nothing wakes it.</summary>
    public int PollSeconds { get; set; } = 30;
}

public sealed class CrtShSettings
{
    /// <summary>e.g. https://crt.sh; unset: crt.sh is not asked.</summary>
    public string? BaseUrl { get; set; }
    public int CacheHours { get; set; } = 24;
    public int TimeoutSeconds { get; set; } = 20;
}
