// Small helpers shared by the alerts and the dashboard. Plain jsonnet, no external libraries.
{
  // Seconds as a short Prometheus-style duration for human text: 2700 -> '45m', 86400 -> '1d'.
  humanSeconds(s)::
    if s % 86400 == 0 then '%dd' % (s / 86400)
    else if s % 3600 == 0 then '%dh' % (s / 3600)
    else if s % 60 == 0 then '%dm' % (s / 60)
    else '%ds' % s,

  // README anchor of an alert: GitHub lower-cases the heading, so '## DocSpaceBackupOverdue'
  // becomes '#docspacebackupoverdue'.
  runbookURL(base, alertName):: '%s#%s' % [base, std.asciiLower(alertName)],
}
