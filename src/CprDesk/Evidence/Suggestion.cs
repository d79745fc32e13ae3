// A category suggestion from the evidence and the text, with its reasons. It is advice for the person who
// classifies: it never changes a clock, the category, or the report's route (the strictest clock stays).
using System.Text.RegularExpressions;

namespace CprDesk.Evidence;

public static partial class CategorySuggestion
{
    public const string KeyCompromise = "key-compromise";
    public const string Misissuance = "misissuance";
    public const string CrlOcspProblem = "crl-ocsp-problem";
    public const string FraudPhishing = "fraud-phishing";
    public const string SubscriberRequest = "subscriber-request";
    public const string RootProgramInquiry = "root-program-inquiry";
    public const string Other = "other";

    public sealed record Facts(
        int VerifiedKeyProofs, int InvalidKeyProofs, int EncryptedKeys, int InvalidCrls, int Matches,
        bool ReporterIsSubscriber, string Text);

    public static (string Category, IReadOnlyList<string> Reasons) Suggest(Facts f)
    {
        var reasons = new List<string>();
        if (f.VerifiedKeyProofs > 0)
        {
            reasons.Add($"{f.VerifiedKeyProofs} verified key-compromise proof(s) (private key or proof CSR): BR §4.9.1.1 reason 3, revocation within 24 hours.");
            return (KeyCompromise, reasons);
        }
        var t = f.Text;
        if (f.InvalidCrls > 0)
        {
            reasons.Add($"{f.InvalidCrls} CRL(s) whose signature or issuer does not check out.");
            return (CrlOcspProblem, reasons);
        }
        if (f.EncryptedKeys > 0 || f.InvalidKeyProofs > 0 || KeyWords().IsMatch(t))
        {
            if (f.EncryptedKeys > 0) reasons.Add($"{f.EncryptedKeys} encrypted private key(s): compromise is claimed but not yet proven.");
            if (f.InvalidKeyProofs > 0) reasons.Add($"{f.InvalidKeyProofs} key proof(s) that did not verify.");
            if (KeyWords().Match(t) is { Success: true } m) reasons.Add($"The text speaks of key compromise (\"{m.Value}\").");
            return (KeyCompromise, reasons);
        }
        if (RootProgramWords().Match(t) is { Success: true } rp)
        {
            reasons.Add($"The text mentions a root program or incident process (\"{rp.Value}\").");
            return (RootProgramInquiry, reasons);
        }
        if (CrlWords().Match(t) is { Success: true } crl)
        {
            reasons.Add($"The text speaks of revocation status (\"{crl.Value}\").");
            return (CrlOcspProblem, reasons);
        }
        if (FraudWords().Match(t) is { Success: true } fr)
        {
            reasons.Add($"The text speaks of fraud or misuse (\"{fr.Value}\").");
            return (FraudPhishing, reasons);
        }
        if (MisissuanceWords().Match(t) is { Success: true } mi)
        {
            reasons.Add($"The text speaks of misissuance (\"{mi.Value}\").");
            return (Misissuance, reasons);
        }
        if (f.ReporterIsSubscriber && f.Matches > 0)
        {
            reasons.Add("The reporter's address is the Subscriber's address of a matched certificate.");
            return (SubscriberRequest, reasons);
        }
        if (SubscriberWords().Match(t) is { Success: true } sr)
        {
            reasons.Add($"The text reads as the Subscriber's own request (\"{sr.Value}\").");
            return (SubscriberRequest, reasons);
        }
        reasons.Add("Nothing in the evidence or the text points to a category.");
        return (Other, reasons);
    }

    [GeneratedRegex(@"\b(key compromise|compromised (private )?key|private key (was |is )?(leaked|exposed|published|compromised)|leaked (private )?key|key (leak|exposure))", RegexOptions.IgnoreCase)]
    private static partial Regex KeyWords();

    [GeneratedRegex(@"\b(root program|root store|mozilla|chrome root|apple root|microsoft root|ccadb|bugzilla|incident report)", RegexOptions.IgnoreCase)]
    private static partial Regex RootProgramWords();

    [GeneratedRegex(@"\b(CRL|OCSP|revocation list|revocation status|responder)\b", RegexOptions.IgnoreCase)]
    private static partial Regex CrlWords();

    [GeneratedRegex(@"\b(phishing|fraud|fraudulent|malware|scam|impersonat\w*|typosquat\w*)", RegexOptions.IgnoreCase)]
    private static partial Regex FraudWords();

    [GeneratedRegex(@"\b(mis-?issu\w*|CAA|linter|zlint|pkilint|invalid (extension|encoding)|BR violation|baseline requirements)", RegexOptions.IgnoreCase)]
    private static partial Regex MisissuanceWords();

    [GeneratedRegex(@"\b(revoke (my|our)|please revoke|we (no longer|don't) need|our certificate|my certificate)", RegexOptions.IgnoreCase)]
    private static partial Regex SubscriberWords();
}
