package client

import "context"

// ProgressPath is the endpoint that returns the state of the portal's
// latest backup task. DocSpace keeps a finished task for about a day, or
// until the next backup replaces it.
const ProgressPath = "/api/2.0/backup/getbackupprogress"

// TaskStatus is a backup task's status (DistributedTaskStatus).
type TaskStatus int

// The task states DocSpace knows.
const (
	TaskCreated   TaskStatus = 0
	TaskRunning   TaskStatus = 1
	TaskCompleted TaskStatus = 2
	TaskCanceled  TaskStatus = 3
	TaskFailed    TaskStatus = 4 // "Failted" in DocSpace
)

// Progress is the part of DocSpace's BackupProgress the exporter uses. It
// deliberately has no field for link, which can be a pre-signed download
// URL of the backup: it is never decoded.
type Progress struct {
	Completed bool
	// Percent is the progress, 0-100.
	Percent int
	// Error is DocSpace's error text, "" when there is none. It may be
	// localized; it is meant for the log, never for a label.
	Error string
	// Warning is DocSpace's warning text (3.6 and later), "" when there is
	// none: e.g. files that could not be backed up. Like Error it is meant
	// for the log only.
	Warning string
	// Status is nil when the key was absent.
	Status *TaskStatus
	TaskID string
}

// Failed reports whether the task ended badly: completed with an error, or
// in the failed state.
func (p *Progress) Failed() bool {
	return p.Completed && p.Error != "" || p.Status != nil && *p.Status == TaskFailed
}

// Running reports whether the task has not completed yet.
func (p *Progress) Running() bool {
	return !p.Completed && (p.Status == nil || *p.Status == TaskCreated || *p.Status == TaskRunning)
}

type progressDTO struct {
	IsCompleted *bool       `json:"isCompleted"`
	Progress    *int        `json:"progress"`
	Error       *string     `json:"error"`
	Warning     *string     `json:"warning"`
	Status      *TaskStatus `json:"status"`
	TaskID      *string     `json:"taskId"`
}

// BackupProgress calls getbackupprogress. It returns nil and no error when
// DocSpace knows no backup task.
func (c *Client) BackupProgress(ctx context.Context) (*Progress, error) {
	dto, err := get[progressDTO](ctx, c, ProgressPath, c.dumpQuery())
	if err != nil || dto == nil {
		return nil, err
	}
	p := &Progress{Status: dto.Status}
	if dto.IsCompleted != nil {
		p.Completed = *dto.IsCompleted
	}
	if dto.Progress != nil {
		p.Percent = min(max(*dto.Progress, 0), 100)
	}
	if dto.Error != nil {
		p.Error = *dto.Error
	}
	if dto.Warning != nil {
		p.Warning = *dto.Warning
	}
	if dto.TaskID != nil {
		p.TaskID = *dto.TaskID
	}
	return p, nil
}
