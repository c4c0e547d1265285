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
func (s *scrape) logCalls() {
	if !s.logger.Enabled(s.ctx, slog.LevelDebug) {
		return
	}
	log := s.log()
	for i, e := range s.portal.endpoints {
		switch a := s.answers[i]; {
		case !s.portal.calls[i] && e.off != nil:
			msg, attrs := e.off(s.portal)
			log.Debug(msg, attrs...)
		case !s.portal.calls[i]:
			log.Debug(e.name + " not called: the " + e.name + " collector is off")
		case a.note != "":
			log.Debug(a.note, a.attrs...)
		default:
			logCall(log, e.name, e.path, a.err, a.duration, a.attrs...)
		}
	}
}

// logCall logs one call to DocSpace at debug level, with what the
// endpoint tells of its answer.
func logCall(log *slog.Logger, call, path string, err error, d time.Duration, answer ...any) {
	attrs := append(append([]any{"path", path, "status_code", client.StatusCode(err), "duration", d}, errorAttrs(err)...), answer...)
	if err != nil {
		log.Debug(call+" call failed", attrs...)
		return
	}
	log.Debug(call+" call succeeded", attrs...)
}

// errorAttrs describes err for a log line: a *client.Error by its kind,
// its advice and its cause, each a field of its own.
func errorAttrs(err error) []any {
	e, ok := errors.AsType[*client.Error](err)
	switch {
	case err == nil:
		return nil
	case !ok:
		return []any{"err", err}
	case e.Err != nil:
		return []any{"kind", e.Kind.String(), "advice", e.Detail, "cause", e.Err.Error()}
	}
	return []any{"kind", e.Kind.String(), "advice", e.Detail}
}
