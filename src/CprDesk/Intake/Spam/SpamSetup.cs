// Registration of spam scoring, the review queue and intake health: one line each in the composition root.
using CprDesk.Intake.Health;

namespace CprDesk.Intake.Spam;

public static class SpamSetup
{
    /// <summary>The scorer (spamd when <c>CprDesk:Spam:Spamd</c> is set, else none), the review queue, and intake health
    /// with its silence alarms.</summary>
    public static void AddSpamReviewAndIntakeHealth(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        var spam = builder.Configuration.GetSection(SpamSettings.Section).Get<SpamSettings>() ?? new SpamSettings();
        s.AddSingleton(spam);
        if (string.IsNullOrWhiteSpace(spam.Spamd)) s.AddSingleton<ISpamScorer, NoSpamScorer>();
        else s.AddSingleton<ISpamScorer, SpamdScorer>();
        s.AddSingleton<SpamReviewDesk>();
        s.AddSingleton(IntakeHealthSettings.From(builder.Configuration));
        s.AddSingleton<IntakeHealth>();
        s.AddSingleton<IntakeHealthService>();
        s.AddHostedService(sp => sp.GetRequiredService<IntakeHealthService>());
    }
}
