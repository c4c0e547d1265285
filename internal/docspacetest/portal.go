// Package docspacetest provides a fake ONLYOFFICE DocSpace portal for tests,
// benchmarks, load scripts and demos.
//
// The fake follows the behaviour described in the project's DocSpace API
// reference (shared/docspace-api.md): the success envelope with an absent
// "response" key when there is nothing to return, numeric enums, the 401 with
// an empty body, the "Access denied" error envelope, ProblemDetails for 402 and
// 404, HTML outside /api/2.0/, case-insensitive routing that ignores a
// trailing slash, and the rules for API keys, personal access tokens and the
// asc_auth_key cookie. Its getbackuphistory lists the stored backups given to
// it, [] when there are none, and drops the records of backups whose file is
// gone, as DocSpace does after checking each file in the storage.
package docspacetest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Endpoint paths served by a Portal, in their canonical spelling.
const (
	PathSchedule = "/api/2.0/backup/getbackupschedule"
	PathProgress = "/api/2.0/backup/getbackupprogress"
	// PathCancel is POST cancelbackup: after it, getbackupprogress reports
	// no job at all.
	PathCancel   = "/api/2.0/backup/cancelbackup"
	PathSettings = "/api/2.0/settings"
	PathHistory  = "/api/2.0/backup/getbackuphistory"
	// PathRestore is getrestoreprogress: anonymous, and answered during a
	// restore, when the other backup calls get 403.
	PathRestore = "/api/2.0/backup/getrestoreprogress"
	// PathBackupsCount (3.5+) and PathBackupsCountByPaid (3.8) count the
	// backup records made in a period; override one with NotFoundProblem
	// for an older DocSpace.
	PathBackupsCount       = "/api/2.0/backup/getbackupscount"
	PathBackupsCountByPaid = "/api/2.0/backup/getbackupscountbypaid"
)

// authCookie is the cookie DocSpace reads a personal access token from.
const authCookie = "asc_auth_key"

// Portal is one fake DocSpace portal. It is an http.Handler and is safe for
// concurrent use; every setter may be called while requests are being served.
//
// The zero value is not usable; create portals with NewPortal.
type Portal struct {
	key string

	closeOnce sync.Once
	closed    chan struct{} // closed by Close

	mu             sync.Mutex
	schedule       string
	dumpSchedule   string
	saas           bool
	progress       string
	history        []Backup
	dropped        []Backup // records dropped from history: still counted
	restore        string
	restoring      bool
	dumpHistory    []Backup
	timezone       string
	location       *time.Location
	version        string
	tenantStatus   int
	rateLimitOn200 bool
	latency        time.Duration
	hang           bool
	release        chan struct{} // closed when hanging is switched off
	pathLatency    map[string]time.Duration
	pathRelease    map[string]chan struct{} // per hung path; closed when it is released
	overrides      map[string]*Response
	requests       map[string]int
	authorizations []string
}

// NewPortal returns a portal that accepts key as its only credential. A key
// starting with "sk-" is treated as an API key and is accepted only as
// "Authorization: Bearer <key>"; any other key is treated as a personal access
// token and is also accepted bare or in the asc_auth_key cookie.
//
// The new portal has no schedule, no backup task, no stored backup and the
// time zone "UTC".
func NewPortal(key string) *Portal {
	return &Portal{
		key:         key,
		closed:      make(chan struct{}),
		timezone:    "UTC",
		location:    time.UTC,
		version:     DefaultVersion,
		overrides:   make(map[string]*Response),
		requests:    make(map[string]int),
		pathLatency: make(map[string]time.Duration),
		pathRelease: make(map[string]chan struct{}),
	}
}

// SetSchedule sets the raw ScheduleDto JSON returned for Dump=false.
// An empty string means no schedule is configured.
func (p *Portal) SetSchedule(scheduleJSON string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.schedule = scheduleJSON
}

// SetDumpSchedule sets the raw ScheduleDto JSON returned for Dump=true.
// An empty string means no dump schedule is configured.
func (p *Portal) SetDumpSchedule(scheduleJSON string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dumpSchedule = scheduleJSON
}

// SetSaaS switches SaaS mode. On SaaS every Dump=true request to the backup
// endpoints is answered with 403 and the "Access denied" error envelope.
func (p *Portal) SetSaaS(saas bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saas = saas
}

// SetProgress sets the raw BackupProgress JSON returned by getbackupprogress
// for both Dump values. An empty string means there is no task: the
// "response" key is absent and count is 0.
func (p *Portal) SetProgress(progressJSON string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress = progressJSON
}

// SetRestore sets the raw BackupProgress JSON of the portal's restore, as
// getrestoreprogress returns it (to anyone: it allows anonymous callers);
// "" for none. While the restore has not completed ("isCompleted" false),
// the portal is being restored: its settings report TenantRestoring, and
// like DocSpace's TenantStatusFilter it answers every call but
// getrestoreprogress and settings with 403 ProblemDetails.
func (p *Portal) SetRestore(progressJSON string) {
	var state struct {
		IsCompleted bool `json:"isCompleted"`
	}
	restoring := progressJSON != "" && json.Unmarshal([]byte(progressJSON), &state) == nil && !state.IsCompleted
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restore, p.restoring = progressJSON, restoring
}

// SetHistory sets the stored backups getbackuphistory lists for Dump=false,
// in the given order. Like DocSpace, the portal drops a backup marked Gone
// from its list when getbackuphistory is called (the file is missing from
// the storage), and never lists it again.
func (p *Portal) SetHistory(backups ...Backup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.history = slices.Clone(backups)
}

// SetDumpHistory sets the stored backups getbackuphistory lists for
// Dump=true: the server-wide dump backups.
func (p *Portal) SetDumpHistory(backups ...Backup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dumpHistory = slices.Clone(backups)
}

// History returns the stored backups the portal still lists for Dump=false.
func (p *Portal) History() []Backup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.history)
}

// SetTimezone sets the IANA time zone id that GET /api/2.0/settings returns to
// authenticated callers. An id that cannot be loaded is still returned as is,
// with a zero UTC offset.
func (p *Portal) SetTimezone(tz string) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timezone = tz
	p.location = loc
}

// DefaultVersion is the DocSpace server version the settings of a new
// portal give.
const DefaultVersion = "3.7.2.1713"

// SetVersion sets the DocSpace server version the settings give ("" for
// none, as a server without version:number in its configuration sends).
func (p *Portal) SetVersion(v string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.version = v
}

// Tenant statuses (TenantStatus in DocSpace's ASC.Core.Tenants).
const (
	TenantActive = iota
	TenantSuspended
	TenantRemovePending
	TenantTransfering
	TenantRestoring
	TenantMigrating
	TenantEncryption
)

// SetTenantStatus sets the portal's state, which the settings give to any
// caller. As DocSpace's TenantStatusFilter does, a portal being
// transferred, restored or encrypted answers every other call with a 403
// ProblemDetails, and a suspended or removed one with a 404.
func (p *Portal) SetTenantStatus(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tenantStatus = status
}

// status is the portal's state as the settings report it: restoring
// while a restore set by SetRestore runs, as DocSpace marks the tenant for
// the time of a restore. p.mu must be held.
func (p *Portal) status() int {
	if p.restoring && p.tenantStatus == TenantActive {
		return TenantRestoring
	}
	return p.tenantStatus
}

// SetRateLimitHeaders makes every API answer, 200 included, carry the
// X-RateLimit-* headers the spec documents for all of them.
func (p *Portal) SetRateLimitHeaders(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rateLimitOn200 = on
}

// SetLatency sets a delay applied before every answer. The wait ends early
// when the request's context is done, in which case nothing is written.
func (p *Portal) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// SetPathLatency sets a delay applied before every answer to path, on top of
// SetLatency: for one slow endpoint, such as a getbackuphistory that checks
// many files in a slow storage. The path is matched like a route. The wait
// ends early as with SetLatency.
func (p *Portal) SetPathLatency(path string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pathLatency[normalizePath(path)] = d
}

// SetOverride installs a canned answer for one path, for example
// SetOverride(PathSchedule, RateLimited()). The path is matched like a route:
// case-insensitively and ignoring a trailing slash. Overrides are applied
// after counting and latency but before authentication. A nil resp removes
// the override.
func (p *Portal) SetOverride(path string, resp *Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := normalizePath(path)
	if resp == nil {
		delete(p.overrides, key)
		return
	}
	p.overrides[key] = resp
}

// SetHang makes the portal accept requests without ever answering them.
// A hung request ends when its context is done, when hanging is switched off
// again (the request is then answered normally), or when Close is called.
func (p *Portal) SetHang(hang bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case hang && !p.hang:
		p.release = make(chan struct{})
	case !hang && p.hang:
		close(p.release)
	}
	p.hang = hang
}

// SetPathHang is SetHang for one path: requests to path are held until
// hanging of path is switched off (they are then answered normally), their
// context is done, or Close is called.
func (p *Portal) SetPathHang(path string, hang bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := normalizePath(path)
	release, hung := p.pathRelease[key]
	switch {
	case hang && !hung:
		p.pathRelease[key] = make(chan struct{})
	case !hang && hung:
		close(release)
		delete(p.pathRelease, key)
	}
}

// Requests reports how many requests reached path, matched case-insensitively
// and ignoring a trailing slash. Every request counts, before latency, hang,
// overrides and authentication.
func (p *Portal) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[normalizePath(path)]
}

// Authorizations returns every Authorization header value received, in
// order of arrival. Requests without the header add nothing.
func (p *Portal) Authorizations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.authorizations...)
}

// Close releases hung requests: their connections are aborted (the handler
// panics with http.ErrAbortHandler, which net/http handles silently). After
// Close, requests that would hang are aborted at once and latency is skipped.
// Call Close before closing an httptest.Server that may still have hung
// requests. Close is idempotent.
func (p *Portal) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
}

// ServeHTTP answers one request the way a DocSpace portal behind nginx would.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := normalizePath(r.URL.Path)

	p.mu.Lock()
	p.requests[path]++
	p.authorizations = append(p.authorizations, r.Header.Values("Authorization")...)
	latency := p.latency + p.pathLatency[path]
	var releases []chan struct{}
	if p.hang {
		releases = append(releases, p.release)
	}
	if release, ok := p.pathRelease[path]; ok {
		releases = append(releases, release)
	}
	p.mu.Unlock()

	if !p.wait(r, latency, releases) {
		return
	}

	p.mu.Lock()
	override := p.overrides[path]
	p.mu.Unlock()
	if override != nil {
		override.ServeHTTP(w, r)
		return
	}

	if path != "/api/2.0" && !strings.HasPrefix(path, "/api/2.0/") {
		HTMLPage().ServeHTTP(w, r)
		return
	}
	switch path {
	case PathSchedule, PathProgress, PathSettings, PathHistory, PathCancel, PathRestore, PathBackupsCount, PathBackupsCountByPaid:
	default:
		NotFoundProblem().ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	status, rateLimitOn200 := p.status(), p.rateLimitOn200
	restore := p.restore
	p.mu.Unlock()
	if rateLimitOn200 {
		for k, v := range RateLimited().Header {
			if strings.HasPrefix(k, "X-Ratelimit-") {
				w.Header()[k] = v
			}
		}
	}
	switch {
	case path == PathSettings && status != TenantRemovePending: // [AllowSuspended], and passed through while busy
	case status == TenantSuspended || status == TenantRemovePending:
		NotFoundProblem().ServeHTTP(w, r)
		return
	case path == PathRestore: // passed through while busy
	case status == TenantTransfering || status == TenantRestoring || status == TenantEncryption:
		ForbiddenProblem().ServeHTTP(w, r)
		return
	}
	method := http.MethodGet
	if path == PathCancel {
		method = http.MethodPost
	}
	if r.Method != method {
		methodNotAllowed().ServeHTTP(w, r)
		return
	}

	authenticated := p.authenticate(r)
	switch {
	case path == PathRestore:
		p.serveObject(w, r, restore)
		return
	case path == PathSettings:
		p.serveSettings(w, r, authenticated)
		return
	case !authenticated:
		unauthorized(hasCookie(r)).ServeHTTP(w, r)
		return
	case path == PathCancel:
		p.SetProgress("")
		p.serveObject(w, r, "")
		return
	case path == PathBackupsCount || path == PathBackupsCountByPaid:
		p.serveCount(w, r, path == PathBackupsCountByPaid)
		return
	}
	dump, raw, ok := dumpParam(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, envelope{
			Response:   validationProblem(raw),
			Count:      1,
			Links:      selfLinks(r),
			Status:     1,
			StatusCode: http.StatusBadRequest,
		})
		return
	}

	p.mu.Lock()
	saas, schedule, dumpSchedule, progress := p.saas, p.schedule, p.dumpSchedule, p.progress
	p.mu.Unlock()
	if dump && saas {
		ForbiddenAccessDenied().ServeHTTP(w, r)
		return
	}
	if path == PathHistory {
		p.serveHistory(w, r, dump)
		return
	}
	body := progress
	if path == PathSchedule {
		body = schedule
		if dump {
			body = dumpSchedule
		}
	}
	p.serveObject(w, r, body)
}

// wait applies latency, then waits for every release channel of a hang. It
// reports false when the request must not be answered because its client
// went away.
func (p *Portal) wait(r *http.Request, latency time.Duration, releases []chan struct{}) bool {
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return false
		case <-p.closed:
		case <-t.C:
		}
	}
	for _, release := range releases {
		select {
		case <-r.Context().Done():
			return false
		case <-p.closed:
			panic(http.ErrAbortHandler)
		case <-release:
		}
	}
	return true
}

// authenticate applies DocSpace's scheme selection (section 6.1 of the
// reference): "Bearer sk-..." goes to the API-key handler; anything else goes
// to the cookie handler, where the asc_auth_key cookie wins if present and the
// header value, with an optional "Bearer " prefix, is used otherwise. API keys
// are never accepted by the cookie handler.
func (p *Portal) authenticate(r *http.Request) bool {
	header := r.Header.Get("Authorization")
	token, bearer := cutBearer(header)
	if bearer && strings.HasPrefix(token, "sk-") {
		return equal(token, p.key)
	}
	if strings.HasPrefix(p.key, "sk-") {
		return false
	}
	if c, err := r.Cookie(authCookie); err == nil {
		return equal(c.Value, p.key)
	}
	if !bearer {
		token = header
	}
	return token != "" && equal(token, p.key)
}

// cutBearer strips a case-insensitive "Bearer " prefix.
func cutBearer(header string) (string, bool) {
	const prefix = "Bearer "
	if len(header) >= len(prefix) && strings.EqualFold(header[:len(prefix)], prefix) {
		return strings.TrimSpace(header[len(prefix):]), true
	}
	return header, false
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func hasCookie(r *http.Request) bool {
	_, err := r.Cookie(authCookie)
	return err == nil
}

// dumpParam reads the Dump query parameter: the name and the values true and
// false are case-insensitive, and an absent parameter means false. ok is false
// for any other value; raw is the value as sent.
func dumpParam(r *http.Request) (dump bool, raw string, ok bool) {
	for name, values := range r.URL.Query() {
		if !strings.EqualFold(name, "dump") || len(values) == 0 {
			continue
		}
		raw = values[0]
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true":
			return true, raw, true
		case "false":
			return false, raw, true
		default:
			return false, raw, false
		}
	}
	return false, "", true
}

// serveObject writes the success envelope around a raw JSON object, or the
// envelope without "response" and with count 0 when raw is empty.
func (p *Portal) serveObject(w http.ResponseWriter, r *http.Request, raw string) {
	env := envelope{Links: selfLinks(r), StatusCode: http.StatusOK}
	if raw != "" {
		env.Response = json.RawMessage(raw)
		env.Count = 1
	}
	writeJSON(w, http.StatusOK, env)
}

// serveSettings answers GET /api/2.0/settings. The time zone fields are only
// present for authenticated callers.
func (p *Portal) serveSettings(w http.ResponseWriter, r *http.Request, authenticated bool) {
	p.mu.Lock()
	tz, loc, saas, version, status := p.timezone, p.location, p.saas, p.version, p.status()
	p.mu.Unlock()

	s := settings{Culture: "en-US", TrustedDomainsType: 1, Standalone: !saas, Version: version, TenantStatus: status, BaseDomain: "docspace.example.com"}
	if authenticated {
		_, offset := time.Now().In(loc).Zone()
		hours := float64(offset) / 3600
		s.Timezone = tz
		s.UTCOffset = timeSpan(offset)
		s.UTCHoursOffset = &hours
	}
	writeJSON(w, http.StatusOK, envelope{
		Response:   s,
		Count:      1,
		Links:      selfLinks(r),
		StatusCode: http.StatusOK,
	})
}

// settings is the part of SettingsDto the fake returns.
type settings struct {
	Timezone           string   `json:"timezone,omitempty"`
	UTCOffset          string   `json:"utcOffset,omitempty"`
	UTCHoursOffset     *float64 `json:"utcHoursOffset,omitempty"`
	TrustedDomainsType int      `json:"trustedDomainsType"`
	Culture            string   `json:"culture"`
	Standalone         bool     `json:"standalone"`
	Version            string   `json:"version"`
	TenantStatus       int      `json:"tenantStatus"`
	// Always sent, also to anonymous callers (web/ASC.Web.Api/Api/Settings/SettingsController.cs).
	BaseDomain            string   `json:"baseDomain"`
	CookieSettingsEnabled bool     `json:"cookieSettingsEnabled"`
	DeepLink              deepLink `json:"deepLink"`
}

// deepLink is DeepLinkDto, "" for each value a server leaves unset.
type deepLink struct {
	AndroidPackageName string `json:"androidPackageName"`
	URL                string `json:"url"`
	IOSPackageID       string `json:"iosPackageId"`
}

// timeSpan formats an offset in seconds like .NET's TimeSpan: "02:00:00",
// "-03:30:00".
func timeSpan(seconds int) string {
	sign := ""
	if seconds < 0 {
		sign = "-"
		seconds = -seconds
	}
	return fmt.Sprintf("%s%02d:%02d:%02d", sign, seconds/3600, seconds/60%60, seconds%60)
}

// envelope is DocSpace's SuccessApiResponse. Response is omitted when nil.
type envelope struct {
	Response   any    `json:"response,omitempty"`
	Count      int    `json:"count"`
	Links      []link `json:"links"`
	Status     int    `json:"status"`
	StatusCode int    `json:"statusCode"`
}

type link struct {
	Href   string `json:"href"`
	Action string `json:"action"`
}

// selfLinks builds the envelope's links: the full request URL, with scheme
// and host taken from X-Forwarded-Proto and X-Forwarded-Host when present.
func selfLinks(r *http.Request) []link {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if v := firstForwarded(r.Header.Get("X-Forwarded-Proto")); v != "" {
		scheme = v
	}
	host := r.Host
	if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" {
		host = v
	}
	return []link{{Href: scheme + "://" + host + r.URL.RequestURI(), Action: r.Method}}
}

// firstForwarded returns the first entry of a comma-separated forwarded header.
func firstForwarded(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// normalizePath lowercases a path and removes trailing slashes, the way
// ASP.NET Core routing compares routes.
func normalizePath(path string) string {
	path = strings.TrimRight(strings.ToLower(path), "/")
	if path == "" {
		return "/"
	}
	return path
}

// writeJSON writes v as the body with DocSpace's JSON content type. A value
// that cannot be encoded (for example invalid raw JSON given to a setter)
// turns into a 500 error envelope.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		ServerError(err.Error()).ServeHTTP(w, nil)
		return
	}
	jsonResponse(status, body).ServeHTTP(w, nil)
}

// validationProblem is the ValidationProblemDetails ASP.NET produces when a
// query value cannot be bound.
func validationProblem(value string) any {
	return struct {
		Type    string              `json:"type"`
		Title   string              `json:"title"`
		Status  int                 `json:"status"`
		Errors  map[string][]string `json:"errors"`
		TraceID string              `json:"traceId"`
	}{
		Type:    "https://tools.ietf.org/html/rfc9110#section-15.5.1",
		Title:   "One or more validation errors occurred.",
		Status:  http.StatusBadRequest,
		Errors:  map[string][]string{"Dump": {fmt.Sprintf("The value '%s' is not valid for Dump.", value)}},
		TraceID: traceID,
	}
}
