package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// The faults an extra portal can have.
const (
	faultNone        = "none"
	faultHung        = "hung"
	faultServerError = "server_error"
	faultRateLimited = "rate_limited"
	faultReset       = "reset"
)

// faultCounts says how many of the extra portals have each fault.
type faultCounts struct {
	hung, serverError, rateLimited, reset int
	retryAfter                            time.Duration
}

func (f *faultCounts) flags(app *kingpin.Application) {
	app.Flag("hung", "How many of the extra portals never answer (the first ones).").Default("0").IntVar(&f.hung)
	app.Flag("server-error", "How many of the extra portals answer HTTP 500 (those after the hung ones).").Default("0").IntVar(&f.serverError)
	app.Flag("rate-limited", "How many of the extra portals answer HTTP 429 with Retry-After (those after the failing ones).").Default("0").IntVar(&f.rateLimited)
	app.Flag("reset", "How many of the extra portals reset the connection (those after the rate-limited ones).").Default("0").IntVar(&f.reset)
	app.Flag("retry-after", "The Retry-After of the rate-limited portals (whole seconds).").Default("60s").DurationVar(&f.retryAfter)
}

func (f *faultCounts) total() int { return f.hung + f.serverError + f.rateLimited + f.reset }

// of returns the fault of extra portal i (1-based).
func (f *faultCounts) of(i int) string {
	for _, b := range []struct {
		n     int
		fault string
	}{{f.hung, faultHung}, {f.serverError, faultServerError}, {f.rateLimited, faultRateLimited}, {f.reset, faultReset}} {
		if i <= b.n {
			return b.fault
		}
		i -= b.n
	}
	return faultNone
}

// faulty returns p with fault applied to every endpoint.
func faulty(p *docspacetest.Portal, fault string, retryAfter time.Duration) http.Handler {
	paths := []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings}
	switch fault {
	case faultHung:
		p.SetHang(true)
	case faultServerError:
		for _, path := range paths {
			p.SetOverride(path, docspacetest.ServerError("Object reference not set to an instance of an object."))
		}
	case faultRateLimited:
		r := docspacetest.RateLimited()
		r.Header.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		for _, path := range paths {
			p.SetOverride(path, r)
		}
	case faultReset:
		return http.HandlerFunc(resetConnection)
	}
	return p
}

// resetConnection drops the connection with a TCP reset, answering nothing.
func resetConnection(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with RST
	}
	_ = conn.Close()
}

// portalStats is what GET /-/portals tells about one extra portal: its
// fault and how many requests reached it, in all and for the schedule.
type portalStats struct {
	name, fault        string
	requests, schedule atomic.Int64
}

// count counts the requests that reach h.
func (st *portalStats) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.requests.Add(1)
		if strings.Contains(strings.ToLower(r.URL.Path), "getbackupschedule") {
			st.schedule.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// writeStats answers GET /-/portals.
func writeStats(w http.ResponseWriter, stats []*portalStats) {
	type row struct {
		Name             string `json:"name"`
		Fault            string `json:"fault"`
		Requests         int64  `json:"requests"`
		ScheduleRequests int64  `json:"schedule_requests"`
	}
	rows := make([]row, len(stats))
	for i, st := range stats {
		rows[i] = row{st.name, st.fault, st.requests.Load(), st.schedule.Load()}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rows)
}
