// Alerting rules of the DocSpace backup mixin.
//
// Series come from one target per portal (label `instance` = portal name). All series of one
// portal share the same target labels, so vector matching below uses the default (all labels,
// metric name ignored): that is right for the multi-target /probe job and for a single-portal
// /metrics job alike, whatever extra target labels (namespace, pod, ...) a setup adds.
local utils = import '../lib/utils.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local sel = c.docspaceSelector,
    local overdueAfter = c.schedulerTickSeconds + c.overdueGraceSeconds,
    local runbook(name) = utils.runbookURL(c.runbookURLBase, name),

    groups+: [
      {
        name: 'docspace-backups',
        rules: [
          {
            // docspace_backup_schedule_next_timestamp_seconds is the slot the DocSpace scheduler will
            // start next, computed the way DocSpace does (wall clock of the portal time zone, from
            // lastBackupTime, or from "today" for a never-run schedule). DocSpace starts a due backup
            // on its next tick; from then on lastBackupTime moves and `next` jumps to the following
            // period. So `next` in the past by more than one tick + grace means the scheduler did not
            // start a due backup. This is the same test for daily, weekly and monthly schedules and
            // for a never-run schedule, and it stays silent between two runs (next is in the future),
            // for a monthly day-31 schedule in February (next is in March), for a new schedule before
            // its first slot, and while a long backup runs (it already moved `next` on).
            alert: 'DocSpaceBackupOverdue',
            expr: |||
              (
                time() - docspace_backup_schedule_next_timestamp_seconds{%(sel)s}
              ) > %(overdueAfter)d
            ||| % { sel: sel, overdueAfter: overdueAfter },
            'for': c.overdueFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Scheduled backup of DocSpace portal {{ $labels.instance }} is overdue.',
              description: 'The backup schedule of {{ $labels.instance }} was due {{ $value | humanizeDuration }} ago, but DocSpace has not started the backup (the scheduler starts a due backup within %(tick)s). Check that the DocSpace backup worker (ASC.Data.Backup.Worker, BackupSchedulerService) is running and read its log; a portal whose tariff is in the Delay state or worse skips scheduled backups. Start a manual backup (Settings > Backup) if the gap matters.' % {
                tick: utils.humanSeconds(c.schedulerTickSeconds),
              },
              runbook_url: runbook('DocSpaceBackupOverdue'),
            },
          },
          {
            alert: 'DocSpaceBackupFailed',
            expr: |||
              docspace_backup_task_failed{%(sel)s} == 1
            ||| % { sel: sel },
            'for': c.backupFailedFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Last backup of DocSpace portal {{ $labels.instance }} failed.',
              description: 'The last backup task of {{ $labels.instance }} ended with an error (DocSpace keeps the task for about 24h, or until the next backup replaces it). Read the error in the portal (Settings > Backup) or in the log of the DocSpace backup service; usual causes are wrong or expired credentials of the backup storage, a full storage or quota, or a deleted target room or folder. Fix the cause, then start a manual backup to confirm.',
              runbook_url: runbook('DocSpaceBackupFailed'),
            },
          },
          {
            // docspace_backup_schedule_configured is only exported while the API answers (up == 1);
            // the explicit `and` keeps the intent readable.
            alert: 'DocSpaceBackupScheduleMissing',
            expr: |||
              docspace_backup_schedule_configured{%(sel)s} == 0
              and
              docspace_up{%(sel)s} == 1
            ||| % { sel: sel },
            'for': c.scheduleMissingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'DocSpace portal {{ $labels.instance }} has no automatic backup schedule.',
              description: 'The DocSpace API of {{ $labels.instance }} answers, but the portal has had no automatic backup schedule for %(for)s. DocSpace deletes a schedule by itself when billing or the backup quota fails (the portal owner gets an e-mail). Create the schedule again in Settings > Backup > Automatic backup, or stop monitoring this portal if it is meant to have no backups.' % {
                'for': c.scheduleMissingFor,
              },
              runbook_url: runbook('DocSpaceBackupScheduleMissing'),
            },
          },
          {
            // The value of this expression is the HTTP status of the schedule call, so the
            // description can tell the causes apart with `$value`.
            alert: 'DocSpaceAPIDown',
            expr: |||
              docspace_api_status_code{%(sel)s}
              and
              docspace_up{%(sel)s} == 0
            ||| % { sel: sel },
            'for': c.apiDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'DocSpace API of portal {{ $labels.instance }} does not answer the backup calls (HTTP {{ $value }}).',
              description: std.join('', [
                'The exporter has got no valid answer from the DocSpace API of {{ $labels.instance }} for %s (HTTP status {{ $value }}), so its backups are not monitored. ' % c.apiDownFor,
                '{{ if eq $value 401.0 }}401: the API key or token was rejected. Create a new API key (scope *:read, created by the portal owner or a DocSpace admin) and write it into the key file, which the exporter reads again when it changes (a key from an environment variable needs a restart).',
                // docspace_restore_running (getrestoreprogress, asked at every scrape whose schedule
                // call fails) is the live sign of a restore; docspace_portal_tenant_status (read with
                // the time zone, hourly) 3-6: DocSpace's TenantStatusFilter answers the backup calls
                // 403 while it transfers, restores or encrypts the portal; a migration keeps it as busy.
                '{{ else if eq $value 403.0 }}{{ with printf `docspace_restore_progress_ratio{%(sel)s,instance=%%q} and docspace_restore_running{%(sel)s,instance=%%q} == 1` $labels.instance $labels.instance | query }}' % { sel: sel },
                '403: DocSpace is restoring the portal from a backup ({{ with first . }}{{ value . | humanizePercentage }}{{ end }} done): it refuses the backup calls until the restore ends. This is no outage; if the restore does not progress for hours, check the DocSpace backup service and its log.',
                '{{ else }}{{ with printf `docspace_portal_tenant_status{%(sel)s,instance=%%q} >= 3 <= 6` $labels.instance | query }}' % { sel: sel },
                '403: the portal is busy ({{ with first . }}{{ $s := value . }}{{ if eq $s 3.0 }}transferring{{ else if eq $s 4.0 }}restoring{{ else if eq $s 5.0 }}migrating{{ else }}encrypting{{ end }}, tenantStatus {{ $s }}{{ end }} in its settings): DocSpace refuses the backup calls until it is done. Wait for the restore, transfer, migration or encryption to end; if it lasts for hours, check the DocSpace backup and migration services.',
                '{{ else }}403: the key may not read backup settings. The key must be created by the portal owner or a DocSpace admin and have the *:read scope; on SaaS, Backup may be missing from the tariff; a portal being restored, transferred or encrypted also answers 403.{{ end }}{{ end }}',
                '{{ else if eq $value 402.0 }}402: the portal is not paid (tariff or licence expired), or on DocSpace 3.2-3.6 Backup is not in the tariff. Renew the subscription.',
                '{{ else if eq $value 429.0 }}429: DocSpace rate-limits the exporter. Scrape less often or raise the rate limit for the key user.',
                '{{ else if eq $value 404.0 }}404: no portal under this host name, or the portal is suspended or being removed. Check the portal URL in the exporter config.',
                '{{ else if eq $value 0.0 }}No HTTP answer (connection refused, DNS, TLS or timeout). Check that the portal is reachable from the exporter and its certificate is valid; see the exporter log.',
                '{{ else if ge $value 500.0 }}The DocSpace server or its proxy is failing. Check the DocSpace services and their logs.',
                '{{ else if and (ge $value 300.0) (lt $value 400.0) }}A redirect: configure the https:// URL of the portal; the exporter does not follow redirects.',
                '{{ else if and (ge $value 200.0) (lt $value 300.0) }}The answer was not a DocSpace API response (HTML or unexpected JSON): the portal URL in the exporter config probably points at the web client instead of the portal root.',
                '{{ else }}Unexpected status; see the exporter log.{{ end }}',
              ]),
              runbook_url: runbook('DocSpaceAPIDown'),
            },
          },
          {
            // Fallback for DocSpaceBackupOverdue while docspace_backup_schedule_next_timestamp_seconds
            // is absent (the exporter could not read the portal time zone from /api/2.0/settings, so
            // it cannot place the slots). Without `next`, judge by the age of the last start against
            // the longest gap the schedule kind allows (docspace_backup_schedule_period, and for
            // monthly schedules the day: day 29-31 skips months without that day), plus one hour for a
            // daylight-saving shift, the scheduler tick and the overdue grace. Period values other
            // than 0/1/2 get the most lenient (monthly) gap. Critical like Overdue: when it fires, a
            // scheduled backup was certainly missed; it is only detected later than Overdue would.
            alert: 'DocSpaceBackupStale',
            expr: |||
              (
                time() - docspace_backup_last_timestamp_seconds{%(sel)s}
              )
              > (
                  (docspace_backup_schedule_period{%(sel)s} == bool 0) * %(daily)d
                + (docspace_backup_schedule_period{%(sel)s} == bool 1) * %(weekly)d
                + (docspace_backup_schedule_period{%(sel)s} != bool 0) * (docspace_backup_schedule_period{%(sel)s} != bool 1)
                  * (
                      (docspace_backup_schedule_day{%(sel)s} <= bool 28) * %(monthly)d
                    + (docspace_backup_schedule_day{%(sel)s} > bool 28) * %(monthlyLate)d
                  )
                + %(slack)d
              )
              unless
              docspace_backup_schedule_next_timestamp_seconds{%(sel)s}
            ||| % c.staleMaxGapSeconds { sel: sel, slack: c.staleSlackSeconds },
            'for': c.staleFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Backups of DocSpace portal {{ $labels.instance }} are stale.',
              description: 'The last scheduled backup of {{ $labels.instance }} started {{ $value | humanizeDuration }} ago, longer than its schedule allows. The exporter cannot compute the next slot (portal time zone unknown), so this alert stands in for DocSpaceBackupOverdue. Check the DocSpace backup worker as for DocSpaceBackupOverdue, and fix the settings call of the exporter (docspace_collector_success{collector="settings"}, exporter log).',
              runbook_url: runbook('DocSpaceBackupStale'),
            },
          },
          {
            // Second half of the fallback: a schedule that never ran (no last timestamp) and whose
            // first slot cannot be computed. Nothing in the series says since when the schedule
            // exists, and a `for` (or a range/offset look-back) as long as a monthly period (up to 62
            // days) outlives Prometheus' default 15d retention and is costly, so this fires after a
            // fixed `staleNeverRunFor` (1d by default): long enough for a daily schedule to be
            // certainly overdue, and for weekly/monthly schedules a day without a time zone is itself
            // worth a look. Hence only a warning.
            alert: 'DocSpaceBackupStale',
            expr: |||
              docspace_backup_schedule_configured{%(sel)s} == 1
              unless
              docspace_backup_last_timestamp_seconds{%(sel)s}
              unless
              docspace_backup_schedule_next_timestamp_seconds{%(sel)s}
            ||| % { sel: sel },
            'for': c.staleNeverRunFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Backup schedule of DocSpace portal {{ $labels.instance }} never ran and cannot be checked.',
              description: 'The backup schedule of {{ $labels.instance }} has never run, and for %(for)s the exporter could not compute its first slot (portal time zone unknown). A daily schedule is overdue by now; a weekly or monthly one may still be waiting. Check the backup history in the portal, and fix the settings call of the exporter (docspace_collector_success{collector="settings"}, exporter log) so that DocSpaceBackupOverdue can judge the schedule.' % {
                'for': c.staleNeverRunFor,
              },
              runbook_url: runbook('DocSpaceBackupStale'),
            },
          },
          {
            // "Backups start but never land". docspace_backup_last_timestamp_seconds moves when the
            // scheduler starts a backup, even if it then fails, and the latest task
            // (getbackupprogress) is forgotten after a day, at the next task, or when the backup
            // worker restarts. The stored-backup history (getbackuphistory) lists only backups whose
            // file was uploaded and still exists. So: the history, read at least `grace` after the
            // last start (so that a backup started then has had time to land, and a history read
            // before that start, e.g. while its reads fail, cannot raise a false alarm), shows no
            // backup made since that start, and no task is running. Series are absent (and the alert
            // silent) while the history is off or not read yet, and for a schedule that never ran.
            alert: 'DocSpaceBackupNotStored',
            expr: |||
              (
                time() - docspace_backup_last_timestamp_seconds{%(sel)s} > %(grace)d
              )
              and
              (
                docspace_backup_history_refresh_timestamp_seconds{%(sel)s} - docspace_backup_last_timestamp_seconds{%(sel)s} > %(grace)d
              )
              unless
              docspace_backup_task_running{%(sel)s} == 1
              unless
              docspace_backup_history_latest_timestamp_seconds{%(sel)s} >= docspace_backup_last_timestamp_seconds{%(sel)s}
            ||| % { sel: sel, grace: c.notStoredGraceSeconds },
            'for': c.notStoredFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'The last scheduled backup of DocSpace portal {{ $labels.instance }} was never stored.',
              description: 'The DocSpace scheduler started the last backup of {{ $labels.instance }} {{ $value | humanizeDuration }} ago, but the portal lists no stored backup made since then (its stored-backup history, read more than %(grace)s after that start, shows only older backups, or none), and no backup task is running. The backup started but did not land: it failed (possibly more than a day ago, so DocSpaceBackupFailed no longer shows it), the backup worker stopped in the middle, or the file was deleted from the backup storage afterwards. Check the backup list in the portal (Settings > Backup), the DocSpace backup service log and the backup storage, then start a manual backup and check that it is listed.' % {
                grace: utils.humanSeconds(c.notStoredGraceSeconds),
              },
              runbook_url: runbook('DocSpaceBackupNotStored'),
            },
          },
          {
            // "No restorable backup tomorrow". Each stored backup has an expiry (expiresOn): never
            // for every storage but DataStore, whose backups expire a day after they are made. A
            // count of never-expiring backups and the latest expiry are two plain series: the alert
            // is "none never expires, and the last expires within the threshold" (a single
            // "restorable until" series would need +Inf for "never"). Its value is the time left,
            // negative once the last one has expired (DocSpace lists it until its cleaner deletes
            // it). No stored backup at all is DocSpaceBackupNotStored's case: the latest expiry is
            // absent then, and this alert silent.
            alert: 'DocSpaceBackupExpiring',
            expr: |||
              (
                docspace_backup_history_latest_expiry_timestamp_seconds{%(sel)s} - time() < %(threshold)d
              )
              and
              docspace_backup_history_never_expiring_backups{%(sel)s} == 0
            ||| % { sel: sel, threshold: c.expiringThresholdSeconds },
            'for': c.expiringFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Every stored backup of DocSpace portal {{ $labels.instance }} expires within %(threshold)s.' % {
                threshold: utils.humanSeconds(c.expiringThresholdSeconds),
              },
              description: 'All backups that {{ $labels.instance }} lists as stored expire, and the last of them {{ if ge $value 0.0 }}expires in {{ $value | humanizeDuration }}{{ else }}has expired{{ end }}: then no backup is left to restore. Only backups in DataStore, the temporary storage of the portal, expire: a day after they are made. Download the newest backup if it is needed, and move the backup schedule to a lasting storage (a room, a third-party drive or a storage such as S3) in Settings > Backup.',
              runbook_url: runbook('DocSpaceBackupExpiring'),
            },
          },
          {
            // The history of stored backups is read every docspace_backup_history_interval_seconds;
            // its last successful read is docspace_backup_history_refresh_timestamp_seconds. Several
            // intervals without a successful read, while the API itself answers, mean that the
            // history calls fail or time out, so DocSpaceBackupNotStored cannot judge the portal.
            alert: 'DocSpaceBackupHistoryStale',
            expr: |||
              (
                time() - docspace_backup_history_refresh_timestamp_seconds{%(sel)s}
                  > %(n)d * docspace_backup_history_interval_seconds{%(sel)s}
              )
              and
              docspace_up{%(sel)s} == 1
            ||| % { sel: sel, n: c.historyStaleIntervals },
            'for': c.historyStaleFor,
            // reason tells the two halves apart: promtool's lint flags two rules of one
            // name with the same labels as duplicates.
            labels: { severity: 'warning', reason: 'stale' },
            annotations: {
              summary: 'The stored-backup history of DocSpace portal {{ $labels.instance }} is stale.',
              description: 'The exporter last read the list of stored backups of {{ $labels.instance }} {{ $value | humanizeDuration }} ago, more than %(n)d of its history intervals, while the DocSpace API answers; so whether recent backups were stored is unknown. The exporter log says why the history call fails ("reading the DocSpace backup history failed"): a call that times out checks too many backups in a slow storage (raise --docspace.history-timeout), a 403 or 500 comes from DocSpace or its backup storage.' % {
                n: c.historyStaleIntervals,
              },
              runbook_url: runbook('DocSpaceBackupHistoryStale'),
            },
          },
          {
            // Second half: no read has succeeded since the exporter started (no refresh timestamp at
            // all), for as long as three default intervals.
            alert: 'DocSpaceBackupHistoryStale',
            expr: |||
              docspace_backup_history_interval_seconds{%(sel)s}
              unless
              docspace_backup_history_refresh_timestamp_seconds{%(sel)s}
              and
              docspace_up{%(sel)s} == 1
            ||| % { sel: sel },
            'for': c.historyNeverReadFor,
            labels: { severity: 'warning', reason: 'never_read' },
            annotations: {
              summary: 'The stored-backup history of DocSpace portal {{ $labels.instance }} has not been read.',
              description: 'For %(for)s the exporter has not read the list of stored backups of {{ $labels.instance }} once (it tries every {{ $value | humanizeDuration }}), while the DocSpace API answers; so whether recent backups were stored is unknown. The exporter log says why the history call fails ("reading the DocSpace backup history failed"): a call that times out checks too many backups in a slow storage (raise --docspace.history-timeout), a 403 or 500 comes from DocSpace or its backup storage.' % {
                'for': c.historyNeverReadFor,
              },
              runbook_url: runbook('DocSpaceBackupHistoryStale'),
            },
          },
        ],
      },
      {
        name: 'docspace-exporter',
        rules: [
          {
            alert: 'DocSpaceExporterAbsent',
            expr: |||
              absent(docspace_up{%(sel)s})
            ||| % { sel: sel },
            'for': c.exporterAbsentFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'No DocSpace portal is monitored: docspace_up{%(sel)s} is absent.' % { sel: sel },
              description: 'For %(for)s Prometheus has had no docspace_up series matching {%(sel)s}, so no DocSpace backup is monitored. The docspace_exporter is down or unreachable, or Prometheus scrapes no portal through it (no targets, relabelling, or every probe failing). Check up{%(sel)s} and the Prometheus Targets page, the exporter process and its log.' % {
                sel: sel,
                'for': c.exporterAbsentFor,
              },
              runbook_url: runbook('DocSpaceExporterAbsent'),
            },
          },
          {
            // One portal's probe fails while others of the same job succeed: typically a target the
            // exporter does not know (typo between the Prometheus targets and the exporter config).
            // When every probe fails, DocSpaceExporterAbsent speaks instead of one alert per portal.
            alert: 'DocSpaceProbeFailed',
            expr: |||
              up{%(sel)s} == 0
              and on (job)
              count by (job) (up{%(sel)s} == 1)
            ||| % { sel: sel },
            'for': c.probeFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus cannot scrape the DocSpace probe of {{ $labels.instance }}.',
              description: 'For %(for)s Prometheus has failed to scrape the docspace_exporter probe of {{ $labels.instance }}, while other portals of job {{ $labels.job }} are scraped fine, so this portal is not monitored. Most often the exporter does not know this target: compare the portal name in the Prometheus targets with the exporter config. Otherwise the probe exceeds the scrape timeout. The error is shown on the Prometheus Targets page and in the exporter log.' % {
                'for': c.probeFailedFor,
              },
              runbook_url: runbook('DocSpaceProbeFailed'),
            },
          },
          {
            alert: 'DocSpaceExporterConfigReloadFailed',
            expr: |||
              docspace_exporter_config_last_reload_successful{%(sel)s} == 0
            ||| % { sel: c.exporterSelector },
            'for': c.configReloadFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'docspace_exporter {{ $labels.instance }} failed to reload its configuration.',
              description: 'The last configuration reload of docspace_exporter {{ $labels.instance }} failed; it keeps running with the previous configuration, so changes (new portals, rotated keys) are not in effect. Fix the config file (the exporter log names the error), then reload with SIGHUP or POST /-/reload.',
              runbook_url: runbook('DocSpaceExporterConfigReloadFailed'),
            },
          },
        ],
      },
    ],
  },
}
