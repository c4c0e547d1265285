// Command fakedocspace serves fake DocSpace portals on loopback, for trying
// the exporter without a portal, for demos and for load tests. It is the
// fake the tests use (internal/docspacetest) behind a real listener.
//
// The portal at the root answers like a healthy portal: give the exporter
// --docspace.url=http://127.0.0.1:PORT and a key file holding --key.
// --portals=N adds N more under /portal-0001 ... /portal-N (give the exporter
// http://127.0.0.1:PORT/portal-0001 as a portal URL), or with
// --portal-per-address each at the root of its own loopback address
// (127.1.0.1, 127.1.0.2, ... at the same port), as real portals are on
// hosts of their own; --portals-file lists their names and URLs. --demo adds
// portals in telling states under /healthy, /overdue, /failed,
// /unauthorized and /no-schedule, and for the stored-backup history under
// /not-stored (the last scheduled start left no stored backup), /no-backups
// (none stored), /many-backups (1,000 stored), /slow-history (the history
// takes 60 s), /history-forbidden (403), /history-error (500) and /dump (the
// server-wide dump schedule and its backups, for Dump=true). Opened in a
// browser, each added portal's own URL (/healthy, /portal-0001, ...) says
// in plain text what the portal is and how to point the exporter at it;
// below it, the portal answers as DocSpace does (the web client's HTML
// page outside /api/2.0/).
//
// --tls.ca-cert-file serves every portal over HTTPS, as real portals are,
// each with a certificate of its own from a CA made at start (ECDSA P-256
// or, with --tls.key-type=rsa, RSA 2048), and counts the TLS connections
// and full and resumed handshakes on GET /-/tls.
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
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

func main() {
	app := kingpin.New("fakedocspace", "Fake DocSpace portals on loopback, for demos and load tests. "+
		"The portal at the root is a healthy one: run the exporter with --docspace.url=http://ADDRESS (ADDRESS of --listen-address) "+
		"and --docspace.api-key-file naming a file that holds --key. --portals and --demo add portals under paths of their own: "+
		"open http://ADDRESS/NAME to read what each one is.")
	var (
		listen   = app.Flag("listen-address", "Address to listen on (loopback only).").Default("127.0.0.1:8080").String()
		key      = app.Flag("key", "The key the fake portals accept (a fake key; never a real one).").Default("sk-fake").String()
		portals  = app.Flag("portals", "How many extra portals to serve under /portal-0001 ... /portal-N.").Default("0").Int()
		demo     = app.Flag("demo", "Also serve portals in telling states under /healthy, /overdue, /failed, /unauthorized, /no-schedule, /not-stored, /no-backups, /many-backups, /slow-history, /history-forbidden, /history-error, /dump.").Bool()
		latency  = app.Flag("latency", "Delay before every answer.").Default("0s").Duration()
		timezone = app.Flag("timezone", "Time zone the portals report in their settings.").Default("UTC").String()
		certFile = app.Flag("tls.cert-file", "Serve HTTPS with this certificate (PEM).").String()
		faults   faultCounts
		keyFile  = app.Flag("tls.key-file", "Private key for --tls.cert-file (PEM).").String()
		perAddr  = app.Flag("portal-per-address", "Serve each of the --portals on its own loopback address, 127.1.x.y, at the port of --listen-address, instead of under a path.").Bool()
		list     = app.Flag("portals-file", "Write the name and URL of each of the --portals to this file, one portal a line.").String()
		caFile   = app.Flag("tls.ca-cert-file", "Serve HTTPS (TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1) with certificates of a CA made at start, one for each address, and write the CA's certificate (PEM) to this file: give it to the exporter's --docspace.tls.ca-file. GET /-/tls counts the TLS connections, full and resumed handshakes; they are logged on exit too.").String()
		keyType  = app.Flag("tls.key-type", "Key of the CA and the certificates of --tls.ca-cert-file: ecdsa (P-256, what Let's Encrypt issues by default) or rsa (2048 bits).").Default("ecdsa").Enum("ecdsa", "rsa")
	)
	faults.flags(app)
	kingpin.MustParse(app.Parse(os.Args[1:]))
	if *caFile != "" && *certFile != "" {
		app.Fatalf("give --tls.ca-cert-file or --tls.cert-file, not both")
	}
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
		last := lastDailyStart(now, 0)
		p.SetSchedule(dailySchedule(last))
		p.SetProgress(docspacetest.ProgressCompleted)
		p.SetHistory(storedBackups(last)...)
		return p
	}

	const healthy = "a healthy portal: a daily backup at 03:00 UTC that ran and was stored"
	mux := http.NewServeMux()
	mount := func(path, about string, p http.Handler) {
		mux.Handle(path+"/", http.StripPrefix(path, p))
		mux.Handle(path, describe(path, about))
	}
	mux.Handle("/", newPortal())
	_, port, _ := net.SplitHostPort(*listen)
	scheme := "http"
	var ca *fakeCA
	if *caFile != "" {
		if ca, err = newFakeCA(*keyType); err == nil {
			err = ca.writeCert(*caFile)
		}
		if err != nil {
			app.Fatalf("--tls.ca-cert-file: %v", err)
		}
		mux.HandleFunc("/-/tls", ca.writeCounts)
	}
	if *certFile != "" || ca != nil {
		scheme = "https"
	}
	var (
		servers []*http.Server
		urls    strings.Builder
		stats   []*portalStats
	)
	for i := 1; i <= *portals; i++ {
		name := fmt.Sprintf("portal-%04d", i)
		fault := faults.of(i)
		st := &portalStats{name: name, fault: fault}
		stats = append(stats, st)
		about := healthy
		if fault != "" {
			about = "a portal with a fault for soak tests: " + fault
		}
		if !*perAddr {
			mount("/"+name, about, st.count(faulty(newPortal(), fault, faults.retryAfter)))
			fmt.Fprintf(&urls, "%s %s://%s/%s\n", name, scheme, *listen, name)
			continue
		}
		if i >= 1<<16 {
			app.Fatalf("--portal-per-address serves at most 65535 portals")
		}
		addr := net.JoinHostPort(fmt.Sprintf("127.1.%d.%d", i>>8, i&0xff), port)
		servers = append(servers, &http.Server{Addr: addr, Handler: st.count(faulty(newPortal(), fault, faults.retryAfter)), ReadHeaderTimeout: 10 * time.Second})
		fmt.Fprintf(&urls, "%s %s://%s\n", name, scheme, addr)
	}
	if *list != "" {
		if err := os.WriteFile(*list, []byte(urls.String()), 0o644); err != nil {
			app.Fatalf("--portals-file: %v", err)
		}
	}
	mux.HandleFunc("/-/portals", func(w http.ResponseWriter, _ *http.Request) { writeStats(w, stats) })
	if *demo {
		mount("/healthy", healthy, newPortal())
		overdue := newPortal()
		overdueLast := lastDailyStart(now, 3)
		overdue.SetSchedule(dailySchedule(overdueLast))
		overdue.SetHistory(storedBackups(overdueLast)...)
		mount("/overdue", "a daily backup that last ran 3 days ago: DocSpaceBackupOverdue fires", overdue)
		failed := newPortal()
		failed.SetProgress(docspacetest.ProgressFailed)
		mount("/failed", "the latest backup task failed: DocSpaceBackupFailed fires", failed)
		unauthorized := newPortal()
		unauthorized.SetOverride(docspacetest.PathSchedule, docspacetest.Unauthorized())
		mount("/unauthorized", "the key is rejected (HTTP 401): DocSpaceAPIDown fires", unauthorized)
		none := newPortal()
		none.SetSchedule("")
		mount("/no-schedule", "no automatic backup schedule: DocSpaceBackupScheduleMissing fires", none)

		// The scheduler started a backup 12 hours ago; it never landed.
		notStored := newPortal()
		notStoredLast := now.Add(-12 * time.Hour).Truncate(time.Hour).Add(4 * time.Minute)
		notStored.SetSchedule(dailySchedule(notStoredLast))
		notStored.SetProgress("")
		notStored.SetHistory(storedBackups(notStoredLast)[1:]...)
		mount("/not-stored", "the scheduler started a backup 12 hours ago and it was never stored: DocSpaceBackupNotStored fires", notStored)
		noBackups := newPortal()
		noBackups.SetHistory()
		mount("/no-backups", "no backup stored at all: DocSpaceBackupNotStored fires", noBackups)
		many := newPortal()
		many.SetHistory(docspacetest.ManyBackups("docspace", lastDailyStart(now, 0).Add(3*time.Minute), 1000)...)
		mount("/many-backups", "1,000 stored backups", many)
		slow := newPortal()
		slow.SetPathLatency(docspacetest.PathHistory, 60*time.Second)
		mount("/slow-history", "the list of stored backups takes 60 s to answer", slow)
		forbidden := newPortal()
		forbidden.SetOverride(docspacetest.PathHistory, docspacetest.ForbiddenAccessDenied())
		mount("/history-forbidden", "the list of stored backups answers HTTP 403", forbidden)
		failing := newPortal()
		failing.SetOverride(docspacetest.PathHistory, docspacetest.ServerError("Could not find a part of the path."))
		mount("/history-error", "the list of stored backups answers HTTP 500", failing)
		dump := newPortal()
		dumpLast := lastDailyStart(now, 0)
		dump.SetDumpSchedule(strings.Replace(dailySchedule(dumpLast), `"dump":false`, `"dump":true`, 1))
		dump.SetDumpHistory(docspacetest.StoredBackup("workspace", dumpLast.Add(25*time.Minute), 3, docspacetest.DateTimeMySQL),
			docspacetest.StoredBackup("workspace", dumpLast.AddDate(0, 0, -1).Add(27*time.Minute), 3, docspacetest.DateTimeMySQL))
		mount("/dump", "the server-wide dump schedule and its backups: monitor it with dump: true (--docspace.dump)", dump)
	}

	servers = append(servers, &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second})
	logger.Info("serving fake DocSpace portals", "address", *listen, "portals", 1+*portals, "per_address", *perAddr,
		"demo", *demo, "tls", scheme == "https", "key_type", *keyType)
	// Every listener is opened before any is served, so that the portals
	// are all reachable once the root answers.
	listeners := make([]net.Listener, len(servers))
	for i, s := range servers {
		if listeners[i], err = net.Listen("tcp", s.Addr); err != nil {
			logger.Error("cannot listen", "err", err)
			os.Exit(1)
		}
	}
	failed := make(chan error, 1)
	for i, s := range servers {
		go func() {
			var err error
			if ca != nil {
				s.TLSConfig = ca.config() // one for each portal: its own session ticket keys
				err = s.ServeTLS(listeners[i], "", "")
			} else if *certFile != "" {
				err = s.ServeTLS(listeners[i], *certFile, *keyFile)
			} else {
				err = s.Serve(listeners[i])
			}
			select {
			case failed <- err:
			default:
			}
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	select {
	case <-stop:
		if ca != nil {
			logger.Info("TLS connections of the portals: " + strings.ReplaceAll(strings.TrimSpace(ca.counts()), "\n", ", "))
		}
		return
	case err = <-failed:
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serving failed", "err", err)
		os.Exit(1)
	}
}

// describe answers a browser opening a portal's own URL with what the
// portal is and how to point the exporter at it.
func describe(path, about string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		root := "http://" + r.Host + path
		if r.TLS != nil {
			root = "https://" + r.Host + path
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Fake DocSpace portal %s: %s.\n\n"+
			"Give the exporter %s as the portal URL (--docspace.url, or url: in its config file) with a key file holding fakedocspace's --key.\n"+
			"Its API answers below it, e.g. %s%s (with \"Authorization: Bearer KEY\").\n",
			strings.TrimPrefix(path, "/"), about, root, root, docspacetest.PathSchedule)
	})
}

// lastDailyStart is when the scheduler started the last backup of a daily
// 03:00 (UTC) schedule: 4 minutes after a slot, daysLate days before the
// most recent slot that is at least 5 minutes past. 0 is on time, more is
// overdue.
func lastDailyStart(now time.Time, daysLate int) time.Time {
	slot := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC)
	if slot.After(now.Add(-5 * time.Minute)) {
		slot = slot.AddDate(0, 0, -1)
	}
	return slot.AddDate(0, 0, -daysLate).Add(4 * time.Minute)
}

// dailySchedule is a daily schedule at the hour (UTC) of last, its last
// start.
func dailySchedule(last time.Time) string {
	return strings.NewReplacer("HOUR", strconv.Itoa(last.Hour()), "LAST", last.Format("2006-01-02T15:04:05")).Replace(
		`{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":0,"hour":HOUR,"day":0},"backupsStored":7,"lastBackupTime":"LAST","dump":false}`)
}

// storedBackups is the history of a daily schedule last started at last:
// the backup of that start, stored a few minutes after it, the one of the
// day before, and a manual backup.
func storedBackups(last time.Time) []docspacetest.Backup {
	return []docspacetest.Backup{
		docspacetest.StoredBackup("docspace", last.Add(3*time.Minute), 0, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("docspace", last.AddDate(0, 0, -1).Add(2*time.Minute), 0, docspacetest.DateTimeMySQL),
		docspacetest.StoredBackup("docspace", last.AddDate(0, 0, -1).Add(9*time.Hour), 0, docspacetest.DateTimeMySQL),
	}
}
