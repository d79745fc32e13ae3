// The CA's inventory of issued certificates, imported from CSV (one row per certificate) or a directory of
// PEM/DER files, indexed by serial, SHA-256 and SPKI SHA-256. Imports use prepared ADO.NET INSERTs into a staging
// table, then one sorted upsert on sha256: a million rows must not go through EF change tracking.
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.Data.Sqlite;

namespace CprDesk.Evidence;

public sealed record RejectedRow(int Line, string Reason);

public sealed record InventoryImportResult(string Source, int Imported, IReadOnlyList<RejectedRow> Rejected, TimeSpan Elapsed);

public static class Inventory
{
    public const string CsvHeader = "serial,sha256,not_before,not_after,subject_cn,sans,subscriber_email";
    /// <summary>The CSV may carry an eighth column with the SPKI SHA-256 (the header has none; matching a key needs it).</summary>
    public const string CsvHeaderWithSpki = CsvHeader + ",spki_sha256";

    internal sealed record Row(string Serial, string Sha256, string? Spki, DateTime? NotBefore, DateTime? NotAfter, string? Cn, string? Sans,
        string? Email, string? Issuer, bool IsCa, byte[]? Der);

    /// <summary>Imports the good rows; every bad row is returned with its line number and reason (nothing else is lost).</summary>
    public static async Task<InventoryImportResult> ImportCsvAsync(Database database, TimeProvider time, string path, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        using var reader = new StreamReader(path);
        var header = (await reader.ReadLineAsync(ct))?.Trim().TrimStart('\uFEFF');
        var withSpki = header == CsvHeaderWithSpki;
        if (header != CsvHeader && !withSpki)
            throw DeskException.Invalid("file", $"{path}: the first line must be exactly '{CsvHeader}' (optionally followed by ',spki_sha256'); it is '{Cap(header, 120)}'.");
        var rejected = new List<RejectedRow>();
        var lineNo = 1;
        IEnumerable<Row> Rows()
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                lineNo++;
                if (line.Length == 0) continue;
                var (row, error) = ParseCsvRow(line, withSpki);
                if (error is not null) rejected.Add(new RejectedRow(lineNo, error));
                else yield return row!;
            }
        }
        var imported = await InsertAsync(database, time, Rows(), ct);
        return new InventoryImportResult(path, imported, rejected, time.GetElapsedTime(started));
    }

    /// <summary>Every PEM or DER certificate in the directory (and PKCS#7 bundles); <paramref name="isCa"/> marks CA
    /// certificates, whose DER is kept so CRL signatures can be checked against them.</summary>
    public static async Task<InventoryImportResult> ImportDirectoryAsync(Database database, TimeProvider time, string dir, bool isCa, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var rejected = new List<RejectedRow>();
        var rows = new List<Row>();
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var findings = Extractor.FromFile(await File.ReadAllBytesAsync(file, ct), Path.GetFileName(file), null, Path.GetRelativePath(dir, file));
            var certs = findings.Where(f => f.Kind == FindingKinds.Certificate).ToList();
            if (certs.Count == 0)
            {
                rejected.Add(new RejectedRow(0, $"{Path.GetRelativePath(dir, file)}: no certificate found{(findings.FirstOrDefault(f => f.Reason is not null)?.Reason is { } r ? $" ({r})" : "")}"));
                continue;
            }
            foreach (var c in certs)
            {
                using var cert = X509CertificateLoader.LoadCertificate(c.Der!);
                var sans = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToList();
                var caFlag = isCa || cert.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);
                rows.Add(new Row(c.Serial!, c.Sha256!, c.SpkiSha256, cert.NotBefore.ToUniversalTime(), cert.NotAfter.ToUniversalTime(),
                    CryptoObjects.CommonName(cert.SubjectName), sans.Count == 0 ? null : string.Join(' ', sans), null, cert.Issuer, caFlag,
                    caFlag ? cert.RawData : null));
            }
        }
        var imported = await InsertAsync(database, time, rows, ct);
        return new InventoryImportResult(dir, imported, rejected, time.GetElapsedTime(started));
    }

    /// <summary>Rows are first written to a staging table without indexes (sequential, fast), then moved into the
    /// inventory in one statement sorted by sha256. A large import rebuilds the serial and SPKI indexes instead of
    /// updating them row by row; it does so inside the transaction, so readers (WAL) keep using the old indexes
    /// until the commit.</summary>
    internal static async Task<int> InsertAsync(Database database, TimeProvider time, IEnumerable<Row> rows, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync(ct);
        await ExecAsync(connection, null, """
            PRAGMA synchronous=FULL; PRAGMA cache_size=-131072;
            CREATE TEMP TABLE IF NOT EXISTS inventory_staging (serial TEXT, sha256 TEXT, spki_sha256 TEXT, not_before TEXT, not_after TEXT,
                subject_cn TEXT, sans TEXT, subscriber_email TEXT, issuer TEXT, is_ca INTEGER, der BLOB);
            DELETE FROM inventory_staging;
            """, ct);
        var now = Timestamp(time.GetUtcNow().UtcDateTime);
        var count = 0;
        await using (var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct))
        {
            await using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO inventory_staging (serial, sha256, spki_sha256, not_before, not_after, subject_cn, sans, subscriber_email, issuer, is_ca, der)
                VALUES ($serial, $sha256, $spki, $nb, $na, $cn, $sans, $email, $issuer, $ca, $der)
                """;
            foreach (var name in new[] { "$serial", "$sha256", "$spki", "$nb", "$na", "$cn", "$sans", "$email", "$issuer", "$ca", "$der" })
                cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
            cmd.Prepare();
            var p = cmd.Parameters;
            foreach (var r in rows)
            {
                p[0].Value = r.Serial;
                p[1].Value = r.Sha256;
                p[2].Value = (object?)r.Spki ?? DBNull.Value;
                p[3].Value = r.NotBefore is { } nb ? Timestamp(nb) : DBNull.Value;
                p[4].Value = r.NotAfter is { } na ? Timestamp(na) : DBNull.Value;
                p[5].Value = (object?)r.Cn ?? DBNull.Value;
                p[6].Value = (object?)r.Sans ?? DBNull.Value;
                p[7].Value = (object?)r.Email ?? DBNull.Value;
                p[8].Value = (object?)r.Issuer ?? DBNull.Value;
                p[9].Value = r.IsCa ? 1 : 0;
                p[10].Value = (object?)r.Der ?? DBNull.Value;
                await cmd.ExecuteNonQueryAsync(ct);
                count++;
            }
            await tx.CommitAsync(ct);
        }
        var rebuild = count >= RebuildIndexesFrom;
        await using (var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct))
        {
            if (rebuild) await ExecAsync(connection, tx, "DROP INDEX IF EXISTS ix_inventory_serial; DROP INDEX IF EXISTS ix_inventory_spki;", ct);
            await using (var move = connection.CreateCommand())
            {
                move.Transaction = tx;
                // A later row for the same certificate wins; WHERE true keeps SQLite's parser from reading ON CONFLICT as a join.
                move.CommandText = """
                    INSERT INTO inventory_certificates (serial, sha256, spki_sha256, not_before, not_after, subject_cn, sans, subscriber_email, issuer, is_ca, der, imported_at)
                    SELECT serial, sha256, spki_sha256, not_before, not_after, subject_cn, sans, subscriber_email, issuer, is_ca, der, $now
                    FROM inventory_staging WHERE true ORDER BY sha256, rowid
                    ON CONFLICT (sha256) DO UPDATE SET serial = excluded.serial, spki_sha256 = COALESCE(excluded.spki_sha256, inventory_certificates.spki_sha256),
                        not_before = excluded.not_before, not_after = excluded.not_after, subject_cn = excluded.subject_cn, sans = excluded.sans,
                        subscriber_email = COALESCE(excluded.subscriber_email, inventory_certificates.subscriber_email),
                        issuer = COALESCE(excluded.issuer, inventory_certificates.issuer), is_ca = MAX(excluded.is_ca, inventory_certificates.is_ca),
                        der = COALESCE(excluded.der, inventory_certificates.der), imported_at = excluded.imported_at
                    """;
                move.Parameters.AddWithValue("$now", now);
                await move.ExecuteNonQueryAsync(ct);
            }
            if (rebuild)
                await ExecAsync(connection, tx, "CREATE INDEX ix_inventory_serial ON inventory_certificates(serial); CREATE INDEX ix_inventory_spki ON inventory_certificates(spki_sha256);", ct);
            await tx.CommitAsync(ct);
        }
        await ExecAsync(connection, null, "DROP TABLE IF EXISTS inventory_staging;", ct);
        return count;
    }

    /// <summary>From this many rows on, the serial and SPKI indexes are rebuilt rather than updated row by row.</summary>
    public const int RebuildIndexesFrom = 100_000;

    private static async Task ExecAsync(SqliteConnection c, SqliteTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>EF Core's SQLite text form of a DateTime, so rows written here read back through the model.</summary>
    internal static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    internal static (Row? Row, string? Error) ParseCsvRow(string line, bool withSpki)
    {
        var fields = SplitCsv(line);
        if (fields is null) return (null, "unbalanced quotes");
        var expected = withSpki ? 8 : 7;
        if (fields.Count != expected) return (null, $"{fields.Count} fields, expected {expected}");
        var serialRaw = fields[0].Trim();
        var serial = Hex.NormalizeSerial(serialRaw);
        if (serialRaw.Length == 0 || !Hex.IsHex(serial) || serial.Length > 42) return (null, $"serial '{Cap(serialRaw, 60)}' is not hex of at most 20 bytes");
        var sha = Hex.Normalize(fields[1].Trim());
        if (sha.Length != 64 || !Hex.IsHex(sha)) return (null, $"sha256 '{Cap(fields[1], 80)}' is not 64 hex digits");
        if (!TryTime(fields[2], out var nb)) return (null, $"not_before '{Cap(fields[2], 40)}' is not an ISO-8601 time");
        if (!TryTime(fields[3], out var na)) return (null, $"not_after '{Cap(fields[3], 40)}' is not an ISO-8601 time");
        if (nb is { } b && na is { } a && a < b) return (null, "not_after is before not_before");
        var email = fields[6].Trim();
        if (email.Length > 0 && (email.Length > 320 || !System.Net.Mail.MailAddress.TryCreate(email, out var parsed) || parsed.Address != email))
            return (null, $"subscriber_email '{Cap(email, 80)}' is not an email address");
        string? spki = null;
        if (withSpki && fields[7].Trim().Length > 0)
        {
            spki = Hex.Normalize(fields[7].Trim());
            if (spki.Length != 64 || !Hex.IsHex(spki)) return (null, $"spki_sha256 '{Cap(fields[7], 80)}' is not 64 hex digits");
        }
        var cn = fields[4].Trim();
        var sans = string.Join(' ', fields[5].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return (new Row(serial, sha, spki, nb, na, cn.Length == 0 ? null : cn, sans.Length == 0 ? null : sans, email.Length == 0 ? null : email, null, false, null), null);
    }

    private static bool TryTime(string s, out DateTime? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(s)) return true;
        if (!DateTimeOffset.TryParse(s.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto)) return false;
        value = dto.UtcDateTime;
        return true;
    }

    /// <summary>RFC 4180 fields on one line (quoted fields may hold commas; no line breaks inside a field).</summary>
    private static List<string>? SplitCsv(string line)
    {
        var fields = new List<string>(8);
        if (!line.Contains('"'))
        {
            fields.AddRange(line.Split(','));
            return fields;
        }
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        if (quoted) return null;
        fields.Add(sb.ToString());
        return fields;
    }

    private static string Cap(string? s, int max) => s is null ? "" : s.Length <= max ? s : s[..max] + "…";
}
