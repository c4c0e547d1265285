// Settings of the DocSpace backup mixin. Override any field when importing:
//
//   (import 'mixin.libsonnet') + { _config+:: { docspaceSelector: 'job="probe-docspace"' } }
//
// Durations used inside PromQL arithmetic are given in seconds (`...Seconds`); durations used as an
// alert's `for` are Prometheus duration strings (`...For`).
{
  _config+:: {
    // Label matchers (without braces) that select the series of the DocSpace portals, i.e. what
    // Prometheus scrapes through the exporter's /probe?target=<portal> (or /metrics for a single
    // portal). One portal per target; the `instance` label names the portal.
    docspaceSelector: 'job="docspace"',
    // Label matchers that select the exporter's own /metrics (build info, config reload, go_*).
    exporterSelector: 'job="docspace_exporter"',

    // How often the DocSpace backup scheduler looks for due schedules (`backup.Scheduler.Period`
    // in DocSpace's config/backup.json, 00:15:00 by default). A due backup starts within one tick.
    schedulerTickSeconds: 15 * 60,
    // Extra time allowed on top of the tick before a due backup counts as overdue: covers the
    // scrape interval, a busy scheduler with many tenants, and small clock differences.
    overdueGraceSeconds: 30 * 60,
    // How long the overdue condition must hold before DocSpaceBackupOverdue fires.
    overdueFor: '5m',

    // How long the last backup task must be reported failed before DocSpaceBackupFailed fires.
    backupFailedFor: '5m',
    // How long a reachable portal must have no backup schedule before DocSpaceBackupScheduleMissing.
    scheduleMissingFor: '30m',
    // How long docspace_up must be 0 before DocSpaceAPIDown fires.
    apiDownFor: '10m',
    // How long the job may have no docspace_up series at all before DocSpaceExporterAbsent fires.
    exporterAbsentFor: '10m',
    // How long Prometheus must fail to scrape one portal's probe before DocSpaceProbeFailed fires.
    probeFailedFor: '10m',
    // How long the exporter's last config reload must have failed before
    // DocSpaceExporterConfigReloadFailed fires.
    configReloadFailedFor: '10m',

    // Fallback used while docspace_backup_schedule_next_timestamp_seconds is absent (the portal
    // time zone could not be read). See alerts/alerts.libsonnet, DocSpaceBackupStale.
    // Longest possible gap between two scheduled starts, per schedule kind:
    staleMaxGapSeconds: {
      daily: 86400,  // 1d
      weekly: 7 * 86400,  // 7d
      monthly: 31 * 86400,  // day 1-28: at most 31 days between two runs
      monthlyLate: 62 * 86400,  // day 29-31: months without that day are skipped (Jul 31 -> Aug 31 -> Oct 31: 61 days)
    },
    // Slack added to the gap: one hour for a daylight-saving shift (DocSpace computes slots in wall-clock
    // time of the portal time zone), plus the scheduler tick and the overdue grace above.
    staleSlackSeconds: 3600 + self.schedulerTickSeconds + self.overdueGraceSeconds,
    // How long the stale condition must hold before the "last backup too old" variant fires.
    staleFor: '5m',
    // A schedule that has never run while its next slot cannot be computed: fire after this long.
    // Longer than a daily period plus grace, so a daily schedule that never ran is caught.
    staleNeverRunFor: '1d',

    // DocSpaceBackupNotStored: how long after the scheduler started a backup the stored-backup
    // history (read by the exporter every history interval, 1h by default) must list a backup made
    // since then. Covers a long backup and its upload, and the history interval.
    notStoredGraceSeconds: 6 * 3600,
    // How long the not-stored condition must hold before DocSpaceBackupNotStored fires.
    notStoredFor: '5m',
    // DocSpaceBackupExpiring: every stored backup expires (DataStore, the portal's temporary
    // storage, keeps a backup one day; other storages never expire), and the last of them expires
    // within this many seconds.
    expiringThresholdSeconds: 12 * 3600,
    // How long the expiring condition must hold before DocSpaceBackupExpiring fires.
    expiringFor: '5m',
    // DocSpaceBackupHistoryStale: fires when the last successful read of the stored-backup history
    // is older than this many of the portal's history intervals (docspace_backup_history_interval_seconds)...
    historyStaleIntervals: 3,
    historyStaleFor: '10m',
    // ...or when no read has succeeded since the exporter started, for this long: three intervals of
    // the default 1h (a `for` cannot follow each portal's own interval).
    historyNeverReadFor: '3h',

    // Alert links point at the README section named after the alert, e.g.
    // <runbookURLBase>#docspacebackupoverdue.
    runbookURLBase: 'https://github.com/docspace-exporter/docspace_exporter/blob/main/README.md',

    // Dashboard.
    dashboardUID: 'docspace-backups',
    dashboardTitle: 'DocSpace / Backups',
    dashboardTags: ['docspace', 'backup', 'docspace-mixin'],
    dashboardTimezone: 'browser',
    dashboardRefresh: '1m',
    dashboardTimeFrom: 'now-7d',
  },
}
