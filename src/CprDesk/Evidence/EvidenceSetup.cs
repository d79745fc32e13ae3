// Composition of the Evidence capability: builder.AddEvidence() and app.MapEvidence() in Web/AppHost.cs.
using CprDesk.Web;

namespace CprDesk.Evidence;

public static class EvidenceSetup
{
    public static void AddEvidence(this WebApplicationBuilder builder, CprDeskOptions options)
    {
        var settings = builder.Configuration.GetSection(EvidenceSettings.Section).Get<EvidenceSettings>() ?? new EvidenceSettings();
        var s = builder.Services;
        s.AddSingleton(settings);
        s.AddSingleton(KeyVault.Load(settings.KeyEncryptionKey, options.DataDirectory));
        s.AddSingleton<EvidenceQueries>();
        // One client for crt.sh and CRL fetches; each call sets its own timeout and size limit.
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(Math.Max(settings.FetchTimeoutSeconds, settings.CrtSh.TimeoutSeconds) + 5) };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("CprDesk-evidence/1");
        s.AddSingleton(sp => new CrtShClient(http, settings, sp.GetRequiredService<Storage.Database>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CrtShClient>>()));
        s.AddSingleton(sp => ActivatorUtilities.CreateInstance<EvidenceService>(sp, http));
        s.AddHostedService(sp => sp.GetRequiredService<EvidenceService>());
    }

    public static void MapEvidence(this WebApplication app)
    {
        app.UseMiddleware<KeyRedactionMiddleware>();
    }
}
