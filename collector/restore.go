package collector

import "github.com/docspace-exporter/docspace_exporter/client"

// restorePath returns the state of the portal's restore from a backup
// (getrestoreprogress): the one backup call DocSpace answers while it
// restores the portal (TenantStatusFilter answers the others with 403). It
// reads the restore queue from DocSpace's cache, as getbackupprogress does,
// but like every call with the key it also updates the key in DocSpace's
// database: it is made only when the schedule call fails, after it.
const restorePath = "/api/2.0/backup/getrestoreprogress"

// subjectRestore is a running restore, by its task, for the log.
const subjectRestore subject = "restore"

var restoreEndpoint = &endpoint{
	name: "restore", call: "restore progress", path: restorePath,
	after: func(*scrape) bool { return true },
	fetch: func(s *scrape) answer {
		if s.ctx.Err() != nil {
			return answer{pending: true, note: "restore progress not called: the scrape's deadline has passed"}
		}
		if s.answer(scheduleEndpoint).err == nil {
			return answer{value: (*backupProgress)(nil),
				note: "restore progress not called: the backup schedule answered, which DocSpace refuses (HTTP 403) while it restores the portal"}
		}
		a := timed(func() (*backupProgress, error) {
			return client.Get[backupProgress](s.ctx, s.portal.client, restorePath, s.portal.dumpQuery())
		})
		if p, _ := a.value.(*backupProgress); p != nil {
			a.attrs = []any{"task_id", p.TaskID, "task_completed", p.IsCompleted, "progress", p.Progress}
			if p.Error != "" {
				a.attrs = append(a.attrs, "task_error", sanitize(p.Error))
			}
		}
		return a
	},
	collect: collectRestore,
}

var (
	restoreRunningDesc = desc("restore_running",
		"1 while DocSpace restores the portal from a backup (getrestoreprogress, asked only when the schedule call fails: DocSpace answers the other calls with 403 then), else 0.")
	restoreProgressDesc = desc("restore_progress_ratio",
		"Progress of the portal's latest restore from a backup (getrestoreprogress, asked only when the schedule call fails; DocSpace keeps a finished one for about a day), 0 to 1.")
)

// restoring tells whether the scrape's getrestoreprogress says a restore
// runs.
func (s *scrape) restoring() bool {
	p, _ := s.answer(restoreEndpoint).value.(*backupProgress)
	return p != nil && p.running()
}

func collectRestore(s *scrape, a answer) {
	p, ok := a.value.(*backupProgress)
	if !ok {
		return // not called
	}
	running := p != nil && p.running()
	s.send(restoreRunningDesc, boolValue(running))
	if p != nil {
		s.send(restoreProgressDesc, float64(min(max(p.Progress, 0), 100))/100)
	}
	task := ""
	if running {
		task = p.TaskID + "\x00running"
	}
	switch n, _ := s.portal.memory.observe(subjectRestore, task, false); n {
	case failing:
		s.log().Info("DocSpace is restoring the portal from a backup: it answers the backup calls with HTTP 403 until the restore ends",
			"task_id", p.TaskID, "progress", p.Progress)
	case recovered:
		s.log().Info("DocSpace no longer restores the portal")
	}
}
