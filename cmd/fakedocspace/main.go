// Command fakedocspace serves fake DocSpace portals on loopback, for trying
// the exporter without a portal, for demos and for load tests. It is the
// fake the tests use (internal/docspacetest) behind a real listener.
//
// The portal at the root answers like a healthy portal. --portals=N adds N
// more under /portal-0001 ... /portal-N (give the exporter
// http://127.0.0.1:PORT/portal-0001 as a portal URL). --demo adds portals in
// telling states under /healthy, /overdue, /failed, /unauthorized and
// /no-schedule.
//
// For soak tests, --hung, --server-error, --rate-limited and --reset make
// that many of the extra portals fail, in this order from /portal-0001 on:
// they never answer, answer HTTP 500, answer HTTP 429 with Retry-After
// (--retry-after), or reset the connection. GET /-/portals lists every
// extra portal with its fault and the requests it got (see portalStats).
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

func main() {
	app := kingpin.New("fakedocspace", "Fake DocSpace portals on loopback, for demos and load tests.")
	var (
		listen   = app.Flag("listen-address", "Address to listen on (loopback only).").Default("127.0.0.1:8080").String()
		key      = app.Flag("key", "The key the fake portals accept (a fake key; never a real one).").Default("sk-fake").String()
		portals  = app.Flag("portals", "How many extra portals to serve under /portal-0001 ... /portal-N.").Default("0").Int()
		demo     = app.Flag("demo", "Also serve portals in telling states under /healthy, /overdue, /failed, /unauthorized, /no-schedule.").Bool()
		latency  = app.Flag("latency", "Delay before every answer.").Default("0s").Duration()
		timezone = app.Flag("timezone", "Time zone the portals report in their settings.").Default("UTC").String()
		certFile = app.Flag("tls.cert-file", "Serve HTTPS with this certificate (PEM).").String()
		faults   faultCounts
		keyFile  = app.Flag("tls.key-file", "Private key for --tls.cert-file (PEM).").String()
	)
	faults.flags(app)
	kingpin.MustParse(app.Parse(os.Args[1:]))
	if faults.total() > *portals {
		app.Fatalf("--hung, --server-error, --rate-limited and --reset add up to more than --portals")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		app.Fatalf("--listen-address must be a loopback address such as 127.0.0.1:8080")
	}
	now := time.Now().UTC()
	newPortal := func() *docspacetest.Portal {
		p := docspacetest.NewPortal(*key)
		p.SetLatency(*latency)
		p.SetTimezone(*timezone)
		p.SetSchedule(dailySchedule(now, 0))
		p.SetProgress(docspacetest.ProgressCompleted)
		return p
	}

	mux := http.NewServeMux()
	mount := func(path string, p *docspacetest.Portal) {
		mux.Handle(path+"/", http.StripPrefix(path, p))
	}
	mux.Handle("/", newPortal())
	var stats []*portalStats
	for i := 1; i <= *portals; i++ {
		name := fmt.Sprintf("portal-%04d", i)
		fault := faults.of(i)
		st := &portalStats{name: name, fault: fault}
		stats = append(stats, st)
		mux.Handle("/"+name+"/", st.count(http.StripPrefix("/"+name, faulty(newPortal(), fault, faults.retryAfter))))
	}
	mux.HandleFunc("/-/portals", func(w http.ResponseWriter, _ *http.Request) { writeStats(w, stats) })
	if *demo {
		mount("/healthy", newPortal())
		overdue := newPortal()
		overdue.SetSchedule(dailySchedule(now, 3))
		mount("/overdue", overdue)
		failed := newPortal()
		failed.SetProgress(docspacetest.ProgressFailed)
		mount("/failed", failed)
		unauthorized := newPortal()
		unauthorized.SetOverride(docspacetest.PathSchedule, docspacetest.Unauthorized())
		mount("/unauthorized", unauthorized)
		none := newPortal()
		none.SetSchedule("")
		mount("/no-schedule", none)
	}

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving fake DocSpace portals", "address", *listen, "portals", 1+*portals, "demo", *demo,
		"tls", *certFile != "")
	if *certFile != "" {
		err = server.ListenAndServeTLS(*certFile, *keyFile)
	} else {
		err = server.ListenAndServe()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serving failed", "err", err)
		os.Exit(1)
	}
}

// dailySchedule is a daily 03:00 (UTC) schedule whose last backup started
// 4 minutes after a slot, daysLate days before the most recent slot that is
// at least 5 minutes past: 0 is on time, more is overdue.
func dailySchedule(now time.Time, daysLate int) string {
	slot := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC)
	if slot.After(now.Add(-5 * time.Minute)) {
		slot = slot.AddDate(0, 0, -1)
	}
	last := slot.AddDate(0, 0, -daysLate).Add(4 * time.Minute)
	return strings.NewReplacer("LAST", last.Format("2006-01-02T15:04:05")).Replace(
		`{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":0,"hour":3,"day":0},"backupsStored":7,"lastBackupTime":"LAST","dump":false}`)
}
