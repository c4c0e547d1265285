package collector

import "github.com/docspace-exporter/docspace_exporter/client"

// progressPath returns the state of the portal's latest backup task
// (getbackupprogress). DocSpace keeps a finished task for about a day, or
// until the next backup replaces it.
const progressPath = "/api/2.0/backup/getbackupprogress"

var progressEndpoint = &endpoint{
	name: "progress", call: "backup progress", path: progressPath,
	flag: "Collect the state of the latest backup task (getbackupprogress); --no-collector.progress turns it off.",
	fetch: func(s *scrape) answer {
		a := timed(func() (*backupProgress, error) {
			return client.Get[backupProgress](s.ctx, s.portal.client, progressPath, s.portal.dumpQuery())
		})
		// The debug log, "the first step of every runbook", tells why a
		// task failed: its texts, sanitised, never labels.
		if p, _ := a.value.(*backupProgress); p != nil {
			a.attrs = []any{"task_id", p.TaskID, "task_completed", p.IsCompleted}
			for _, t := range [][2]string{{"task_error", p.Error}, {"task_warning", p.Warning}} {
				if t[1] != "" {
					a.attrs = append(a.attrs, t[0], sanitize(t[1]))
				}
			}
		}
		return a
	},
	collect: collectProgress,
}

var (
	taskRunningDesc = desc("backup_task_running",
		"1 while the portal's latest backup task (getbackupprogress) has not completed, else 0.")
	taskProgressDesc = desc("backup_task_progress_ratio",
		"Progress of the portal's latest backup task (DocSpace keeps a finished one for about a day), 0 to 1.")
	taskFailedDesc = desc("backup_task_failed",
		"1 if the portal's latest backup task ended with an error, 0 if it completed cleanly or is running.")
	taskStatusDesc = desc("backup_task_status",
		"The latest backup task's status (getbackupprogress status): 0 created, 1 running, 2 completed, 3 canceled, 4 failed.")
	taskWarningDesc = desc("backup_task_warning",
		"1 if the portal's latest backup task reported a warning (e.g. files it could not back up; the text is in the debug page and the log), else 0.")
)

// taskStatus is a backup task's status (DistributedTaskStatus): 0 created,
// 1 running, 2 completed, 3 canceled, 4 failed ("Failted" in DocSpace).
type taskStatus int

const (
	taskCreated taskStatus = 0
	taskRunning taskStatus = 1
	taskFailed  taskStatus = 4
)

// backupProgress is what the exporter reads of DocSpace's BackupProgress:
// never link, which can be a pre-signed download URL of the backup. Error
// and Warning (3.6+, e.g. files not backed up) may be localized: they go to
// the log, never to a label. Status is nil when absent.
type backupProgress struct {
	IsCompleted bool        `json:"isCompleted"`
	Progress    int         `json:"progress"`
	Error       string      `json:"error"`
	Warning     string      `json:"warning"`
	Status      *taskStatus `json:"status"`
	TaskID      string      `json:"taskId"`
}

// failed: the task completed with an error, or is in the failed state.
func (p *backupProgress) failed() bool {
	return p.IsCompleted && p.Error != "" || p.Status != nil && *p.Status == taskFailed
}

// running: the task has not completed yet.
func (p *backupProgress) running() bool {
	return !p.IsCompleted && (p.Status == nil || *p.Status == taskCreated || *p.Status == taskRunning)
}

func collectProgress(s *scrape, a answer) {
	p := a.value.(*backupProgress)
	if p == nil {
		s.send(taskRunningDesc, 0)
		return
	}
	s.send(taskRunningDesc, boolValue(p.running()))
	s.send(taskProgressDesc, float64(min(max(p.Progress, 0), 100))/100)
	s.send(taskFailedDesc, boolValue(p.failed()))
	if p.Status != nil {
		s.send(taskStatusDesc, float64(*p.Status))
	}
	s.send(taskWarningDesc, boolValue(p.Warning != ""))
	// Each task's texts are logged once.
	m := s.portal.memory
	if p.failed() {
		if n, _ := m.observe(subjectFailedTask, p.TaskID+"\x00"+p.Error, false); n == failing {
			s.log().Warn("the latest DocSpace backup task failed", "task_id", p.TaskID, "error", sanitize(p.Error))
		}
	}
	if p.Warning != "" {
		if n, _ := m.observe(subjectTaskWarning, p.TaskID+"\x00"+p.Warning, false); n == failing {
			s.log().Warn("the latest DocSpace backup task reported a warning", "task_id", p.TaskID, "warning", sanitize(p.Warning))
		}
	}
}
