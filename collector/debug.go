package collector

import (
	"errors"
	"log/slog"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
)

// logCalls logs, at debug level, each call the scrape made to DocSpace and
// what it used instead of a call: the endpoint, the HTTP status, the
// duration, and for a failure the error's kind and advice. It is the log of
// a /probe?debug=true request, and of every scrape at --log.level=debug.
func (c *Collector) logCalls(sched result[*client.Schedule], progress result[*client.Progress],
	location result[*time.Location], history historyState) {
	if !c.logger.Enabled(c.ctx, slog.LevelDebug) {
		return
	}
	log := c.log()
	t := c.target
	logCall(log, "schedule", client.SchedulePath, sched.err, sched.duration)
	if t.progress {
		logCall(log, "progress", client.ProgressPath, progress.err, progress.duration)
	} else {
		log.Debug("progress not called: the progress collector is off")
	}
	switch {
	case t.timezone == nil:
		log.Debug("settings not called: the time zone is given in the portal's settings", "timezone", t.location.String())
	case location.duration == 0 && location.value != nil:
		log.Debug("settings not called: the time zone read from the portal within the hour is used", "timezone", location.value.String())
	case location.duration == 0:
		log.Debug("settings not called: the last call failed less than "+timezoneRetry.String()+" ago, so the time zone is unknown", "err", location.err)
	default:
		logCall(log, "settings", client.SettingsPath, location.err, location.duration)
	}
	if t.history == nil {
		log.Debug("history not called: the stored-backup history is off")
		return
	}
	attrs := []any{"path", client.HistoryPath, "interval", t.history.interval}
	if h := history.last; h != nil {
		attrs = append(attrs, "last_call_ended", h.ended.UTC().Format(time.RFC3339), "last_call_status_code", client.StatusCode(h.err),
			"last_call_duration", h.duration)
		attrs = append(attrs, errorAttrs(h.err)...)
	}
	if s := history.stored; s != nil {
		attrs = append(attrs, "list_fetched", s.fetched.UTC().Format(time.RFC3339), "stored_backups", s.Backups)
	}
	log.Debug("history served from the portal's cache: it is called in the background, at most once per interval", attrs...)
}

// logCall logs one call to DocSpace at debug level.
func logCall(log *slog.Logger, call, path string, err error, d time.Duration) {
	attrs := append([]any{"path", path, "status_code", client.StatusCode(err), "duration", d}, errorAttrs(err)...)
	if err != nil {
		log.Debug(call+" call failed", attrs...)
		return
	}
	log.Debug(call+" call succeeded", attrs...)
}

// errorAttrs describes err for a log line: a *client.Error by its kind,
// its advice and its cause, each a field of its own.
func errorAttrs(err error) []any {
	var e *client.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		attrs := []any{"kind", e.Kind.String(), "advice", e.Detail}
		if e.Err != nil {
			attrs = append(attrs, "cause", e.Err.Error())
		}
		return attrs
	}
	return []any{"err", err}
}
