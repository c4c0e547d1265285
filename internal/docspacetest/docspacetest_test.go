package docspacetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	apiKey = "sk-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pat    = "PATTOKEN-abc123=="
)

// result is one HTTP exchange as seen by a client.
type result struct {
	status int
	header http.Header
	body   []byte
}

// request describes one client request.
type request struct {
	method string
	path   string // path and query
	host   string
	auth   string // Authorization header, "" = none
	cookie string // asc_auth_key cookie, "" = none
	header map[string]string
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if p, ok := h.(*Portal); ok {
		t.Cleanup(p.Close) // runs before srv.Close
	}
	return srv
}

func do(t *testing.T, srv *httptest.Server, req request) result {
	t.Helper()
	res, err := send(context.Background(), srv, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	return res
}

func send(ctx context.Context, srv *httptest.Server, req request) (result, error) {
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, srv.URL+req.path, nil)
	if err != nil {
		return result{}, err
	}
	if req.host != "" {
		r.Host = req.host
	}
	if req.auth != "" {
		r.Header.Set("Authorization", req.auth)
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "asc_auth_key", Value: req.cookie})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(r)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func decodeObject(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("invalid JSON %q: %v", s, err)
	}
	return buf.String()
}

func TestScheduleEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		schedule  string
		req       request
		wantBody  string // exact body; "" = not checked
		wantResp  string // expected "response"; "" = key must be absent
		wantCount string
		wantHref  string // "{srv}" is replaced by the server URL
	}{
		{
			name:      "no schedule",
			req:       request{path: PathSchedule, auth: "Bearer " + apiKey},
			wantBody:  `{"count":0,"links":[{"href":"{srv}/api/2.0/backup/getbackupschedule","action":"GET"}],"status":0,"statusCode":200}`,
			wantCount: "0",
			wantHref:  "{srv}/api/2.0/backup/getbackupschedule",
		},
		{
			name:      "weekly",
			schedule:  ScheduleWeekly,
			req:       request{path: PathSchedule + "?Dump=false", auth: "Bearer " + apiKey},
			wantResp:  ScheduleWeekly,
			wantCount: "1",
			wantHref:  "{srv}/api/2.0/backup/getbackupschedule?Dump=false",
		},
		{
			name:      "forwarded scheme and host",
			schedule:  ScheduleS3,
			req:       request{path: PathSchedule, auth: "Bearer " + apiKey, header: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "docspace.example.com"}},
			wantResp:  ScheduleS3,
			wantCount: "1",
			wantHref:  "https://docspace.example.com/api/2.0/backup/getbackupschedule",
		},
		{
			name:      "sample 10(a) exactly",
			schedule:  ScheduleWeekly,
			req:       request{path: PathSchedule, auth: "Bearer " + apiKey, header: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "docspace.example.com"}},
			wantBody:  scheduleEnvelope,
			wantResp:  ScheduleWeekly,
			wantCount: "1",
			wantHref:  "https://docspace.example.com/api/2.0/backup/getbackupschedule",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			p.SetSchedule(tt.schedule)
			srv := newServer(t, p)
			res := do(t, srv, tt.req)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.status)
			}
			if ct := res.header.Get("Content-Type"); ct != ContentTypeJSON {
				t.Errorf("Content-Type = %q, want %q", ct, ContentTypeJSON)
			}
			if tt.wantBody != "" {
				if want := strings.ReplaceAll(tt.wantBody, "{srv}", srv.URL); string(res.body) != want {
					t.Errorf("body =\n%s\nwant\n%s", res.body, want)
				}
			}
			m := decodeObject(t, res.body)
			resp, has := m["response"]
			switch {
			case tt.wantResp == "" && has:
				t.Errorf("response key present: %s", resp)
			case tt.wantResp != "" && string(resp) != compact(t, tt.wantResp):
				t.Errorf("response = %s, want %s", resp, tt.wantResp)
			}
			if got := string(m["count"]); got != tt.wantCount {
				t.Errorf("count = %s, want %s", got, tt.wantCount)
			}
			if string(m["status"]) != "0" || string(m["statusCode"]) != "200" {
				t.Errorf("status/statusCode = %s/%s, want 0/200", m["status"], m["statusCode"])
			}
			var links []link
			if err := json.Unmarshal(m["links"], &links); err != nil {
				t.Fatal(err)
			}
			wantHref := strings.ReplaceAll(tt.wantHref, "{srv}", srv.URL)
			if len(links) != 1 || links[0].Href != wantHref || links[0].Action != "GET" {
				t.Errorf("links = %+v, want one GET link to %s", links, wantHref)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		auth   string
		cookie string
		want   int
	}{
		{"api key bearer", apiKey, "Bearer " + apiKey, "", 200},
		{"api key lowercase bearer", apiKey, "bearer " + apiKey, "", 200},
		{"api key bare", apiKey, apiKey, "", 401},
		{"api key cookie", apiKey, "", apiKey, 401},
		{"api key wrong", apiKey, "Bearer sk-wrong", "", 401},
		{"api key none", apiKey, "", "", 401},
		{"api key basic", apiKey, "Basic dXNlcjpwYXNz", "", 401},
		{"pat bare", pat, pat, "", 200},
		{"pat bearer", pat, "Bearer " + pat, "", 200},
		{"pat cookie", pat, "", pat, 200},
		{"pat wrong cookie wins over right header", pat, pat, "wrong", 401},
		{"pat right cookie wins over wrong header", pat, "wrong", pat, 200},
		{"pat wrong", pat, "wrong", "", 401},
		{"pat none", pat, "", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(tt.key)
			p.SetSchedule(ScheduleWeekly)
			srv := newServer(t, p)
			res := do(t, srv, request{path: PathSchedule, auth: tt.auth, cookie: tt.cookie})
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tt.want, res.body)
			}
			if tt.want == http.StatusUnauthorized {
				if len(res.body) != 0 || res.header.Get("Content-Length") != "0" {
					t.Errorf("401 body = %q, Content-Length = %q; want empty, 0", res.body, res.header.Get("Content-Length"))
				}
				if res.header.Get("WWW-Authenticate") != "" {
					t.Errorf("unexpected WWW-Authenticate %q", res.header.Get("WWW-Authenticate"))
				}
				if wantClear := tt.cookie != ""; wantClear != strings.Contains(res.header.Get("Set-Cookie"), "asc_auth_key=;") {
					t.Errorf("Set-Cookie = %q, clearing expected: %v", res.header.Get("Set-Cookie"), wantClear)
				}
			}
		})
	}
}

func TestDump(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		saas       bool
		wantStatus int
		wantResp   string // expected "response" object for 200
	}{
		{"absent means false", PathSchedule, false, 200, ScheduleWeekly},
		{"Dump=true", PathSchedule + "?Dump=true", false, 200, ScheduleDump},
		{"dump=TRUE", PathSchedule + "?dump=TRUE", false, 200, ScheduleDump},
		{"DUMP=False", PathSchedule + "?DUMP=False", false, 200, ScheduleWeekly},
		{"invalid", PathSchedule + "?Dump=1", false, 400, ""},
		{"empty value", PathSchedule + "?Dump=", false, 400, ""},
		{"SaaS Dump=true", PathSchedule + "?Dump=true", true, 403, ""},
		{"SaaS Dump=false", PathSchedule + "?Dump=false", true, 200, ScheduleWeekly},
		{"SaaS progress Dump=true", PathProgress + "?Dump=true", true, 403, ""},
		{"progress Dump=true", PathProgress + "?Dump=true", false, 200, ProgressRunning},
		{"progress Dump=false", PathProgress, false, 200, ProgressRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			p.SetSchedule(ScheduleWeekly)
			p.SetDumpSchedule(ScheduleDump)
			p.SetProgress(ProgressRunning)
			p.SetSaaS(tt.saas)
			srv := newServer(t, p)
			res := do(t, srv, request{path: tt.path, auth: "Bearer " + apiKey})
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tt.wantStatus, res.body)
			}
			m := decodeObject(t, res.body)
			switch tt.wantStatus {
			case 200:
				if got := string(m["response"]); got != compact(t, tt.wantResp) {
					t.Errorf("response = %s, want %s", got, tt.wantResp)
				}
			case 400:
				if string(m["status"]) != "1" || string(m["statusCode"]) != "400" {
					t.Errorf("status/statusCode = %s/%s, want 1/400", m["status"], m["statusCode"])
				}
				var problem struct {
					Status int                 `json:"status"`
					Title  string              `json:"title"`
					Errors map[string][]string `json:"errors"`
				}
				if err := json.Unmarshal(m["response"], &problem); err != nil {
					t.Fatal(err)
				}
				if problem.Status != 400 || len(problem.Errors["Dump"]) != 1 || problem.Title == "" {
					t.Errorf("validation problem = %+v", problem)
				}
				if _, ok := m["links"]; !ok {
					t.Error("links missing in 400 envelope")
				}
			case 403:
				var e errorEnvelope
				if err := json.Unmarshal(res.body, &e); err != nil {
					t.Fatal(err)
				}
				if e.Error.Message != "Access denied" || e.Status != 1 || e.StatusCode != 403 {
					t.Errorf("error envelope = %+v", e)
				}
			}
		})
	}
}

func TestAuthBeforeValidation(t *testing.T) {
	srv := newServer(t, NewPortal(apiKey))
	if res := do(t, srv, request{path: PathSchedule + "?Dump=1"}); res.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", res.status)
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name     string
		progress string
		count    string
	}{
		{"no task", "", "0"},
		{"failed", ProgressFailed, "1"},
		{"completed", ProgressCompleted, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			p.SetProgress(tt.progress)
			srv := newServer(t, p)
			res := do(t, srv, request{path: PathProgress, auth: "Bearer " + apiKey})
			m := decodeObject(t, res.body)
			resp, has := m["response"]
			if has != (tt.progress != "") {
				t.Errorf("response present = %v, body %s", has, res.body)
			}
			if has && string(resp) != compact(t, tt.progress) {
				t.Errorf("response = %s, want %s", resp, tt.progress)
			}
			if string(m["count"]) != tt.count {
				t.Errorf("count = %s, want %s", m["count"], tt.count)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name       string
		tz         string
		auth       string
		wantTZ     string
		wantOffset string
		wantHours  float64
	}{
		{"default UTC", "", "Bearer " + apiKey, "UTC", "00:00:00", 0},
		{"Kolkata", "Asia/Kolkata", "Bearer " + apiKey, "Asia/Kolkata", "05:30:00", 5.5},
		{"St Johns", "America/St_Johns", "Bearer " + apiKey, "America/St_Johns", "", 0},
		{"anonymous", "Europe/Berlin", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			if tt.tz != "" {
				p.SetTimezone(tt.tz)
			}
			srv := newServer(t, p)
			res := do(t, srv, request{path: PathSettings, auth: tt.auth})
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.status)
			}
			var env struct {
				Response map[string]any `json:"response"`
				Count    int            `json:"count"`
			}
			if err := json.Unmarshal(res.body, &env); err != nil {
				t.Fatal(err)
			}
			s := env.Response
			if s["culture"] != "en-US" || env.Count != 1 {
				t.Errorf("settings = %v, count %d", s, env.Count)
			}
			if tt.wantTZ == "" {
				for _, k := range []string{"timezone", "utcOffset", "utcHoursOffset"} {
					if _, ok := s[k]; ok {
						t.Errorf("anonymous settings contain %s: %v", k, s)
					}
				}
				return
			}
			if s["timezone"] != tt.wantTZ {
				t.Errorf("timezone = %v, want %s", s["timezone"], tt.wantTZ)
			}
			loc, err := time.LoadLocation(tt.wantTZ)
			if err != nil {
				t.Fatal(err)
			}
			_, off := time.Now().In(loc).Zone()
			wantOffset, wantHours := tt.wantOffset, tt.wantHours
			if wantOffset == "" {
				wantOffset, wantHours = timeSpan(off), float64(off)/3600
			}
			if s["utcOffset"] != wantOffset || s["utcHoursOffset"] != wantHours {
				t.Errorf("utcOffset/utcHoursOffset = %v/%v, want %s/%v", s["utcOffset"], s["utcHoursOffset"], wantOffset, wantHours)
			}
		})
	}
}

func TestTimeSpan(t *testing.T) {
	for seconds, want := range map[int]string{0: "00:00:00", 7200: "02:00:00", -12600: "-03:30:00", 20700: "05:45:00"} {
		if got := timeSpan(seconds); got != want {
			t.Errorf("timeSpan(%d) = %q, want %q", seconds, got, want)
		}
	}
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		want     int
		wantType string
	}{
		{"canonical", "", PathSchedule, 200, ContentTypeJSON},
		{"upper case", "", "/API/2.0/Backup/GetBackupSchedule", 200, ContentTypeJSON},
		{"trailing slash", "", PathSchedule + "/", 200, ContentTypeJSON},
		{"trailing slash and query", "", "/api/2.0/backup/getbackupprogress/?Dump=false", 200, ContentTypeJSON},
		{"settings", "", "/api/2.0/settings/", 200, ContentTypeJSON},
		{"history", "", "/API/2.0/backup/GetBackupHistory/", 200, ContentTypeJSON},
		{"unknown api path", "", "/api/2.0/backup/getservicestate", 404, ContentTypeProblem},
		{"api root", "", "/api/2.0/", 404, ContentTypeProblem},
		{"post", http.MethodPost, PathSchedule, 405, ""},
		{"head", http.MethodHead, PathSchedule, 405, ""},
		{"other api version", "", "/api/2.1/backup/getbackupschedule", 200, "text/html; charset=utf-8"},
		{"missing api prefix", "", "/backup/getbackupschedule", 200, "text/html; charset=utf-8"},
		{"root", "", "/", 200, "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			srv := newServer(t, p)
			res := do(t, srv, request{method: tt.method, path: tt.path, auth: "Bearer " + apiKey})
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tt.want, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			if strings.HasPrefix(tt.wantType, "text/html") && !bytes.Contains(res.body, []byte("<html")) {
				t.Errorf("body is not HTML: %s", res.body)
			}
			if tt.want == 404 {
				m := decodeObject(t, res.body)
				if string(m["status"]) != "404" || string(m["title"]) != `"Not Found"` {
					t.Errorf("problem = %s", res.body)
				}
			}
		})
	}
}

func TestRequestsAndAuthorizations(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetOverride(PathProgress, RateLimited())
	reqs := []request{
		{path: PathSchedule, auth: "Bearer " + apiKey},
		{path: "/API/2.0/backup/getbackupschedule/"},
		{path: PathSchedule + "?Dump=1", auth: "wrong"},
		{path: PathProgress, auth: "Bearer " + apiKey},
		{path: "/somewhere"},
	}
	for _, r := range reqs {
		do(t, srv, r)
	}
	counts := map[string]int{
		PathSchedule:                        3,
		"/Api/2.0/Backup/GetBackupSchedule": 3,
		PathProgress:                        1,
		PathSettings:                        0,
		"/somewhere/":                       1,
	}
	for path, want := range counts {
		if got := p.Requests(path); got != want {
			t.Errorf("Requests(%q) = %d, want %d", path, got, want)
		}
	}
	want := []string{"Bearer " + apiKey, "wrong", "Bearer " + apiKey}
	got := p.Authorizations()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Authorizations() = %q, want %q", got, want)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name     string
		resp     *Response
		want     int
		wantType string
		check    func(t *testing.T, res result)
	}{
		{"unauthorized", Unauthorized(), 401, "", checkEmpty},
		{"forbidden empty", ForbiddenEmpty(), 403, "", checkEmpty},
		{"access denied", ForbiddenAccessDenied(), 403, ContentTypeJSON, func(t *testing.T, res result) {
			want := `{"error":{"message":"Access denied","type":"ASC.Common.Security.Authorizing.AuthorizingException","stack":"   at ASC.Common.Security.Authorizing.PermissionResolver.DemandAsync(...)","hresult":-2146233088},"status":1,"statusCode":403}`
			if string(res.body) != want {
				t.Errorf("body = %s, want %s", res.body, want)
			}
		}},
		{"payment required", PaymentRequired(), 402, ContentTypeProblem, func(t *testing.T, res result) {
			m := decodeObject(t, res.body)
			if string(m["status"]) != "402" || !strings.HasPrefix(string(m["traceId"]), `"00-`) {
				t.Errorf("body = %s", res.body)
			}
		}},
		{"rate limited", RateLimited(), 429, "", func(t *testing.T, res result) {
			checkEmpty(t, res)
			for k, v := range map[string]string{"Retry-After": "30", "X-RateLimit-Limit": "1500", "X-RateLimit-Remaining": "0"} {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.header.Get("X-RateLimit-Reset") == "" {
				t.Error("X-RateLimit-Reset missing")
			}
		}},
		{"server error", ServerError("boom"), 500, ContentTypeJSON, func(t *testing.T, res result) {
			var e errorEnvelope
			if err := json.Unmarshal(res.body, &e); err != nil {
				t.Fatal(err)
			}
			if e.Error.Message != "boom" || e.Status != 1 || e.StatusCode != 500 || strings.Count(e.Error.Stack, "\n") < 1 {
				t.Errorf("error envelope = %+v", e)
			}
		}},
		{"bad gateway", BadGatewayHTML(), 502, ContentTypeHTML, checkHTML("502 Bad Gateway")},
		{"unavailable", ServiceUnavailableHTML(), 503, ContentTypeHTML, checkHTML("503 Service Unavailable")},
		{"html page", HTMLPage(), 200, "text/html; charset=utf-8", checkHTML("DocSpace")},
		{"redirect", Redirect("https://docspace.example.com/api/2.0/backup/getbackupschedule"), 301, ContentTypeHTML, func(t *testing.T, res result) {
			if loc := res.header.Get("Location"); loc != "https://docspace.example.com/api/2.0/backup/getbackupschedule" {
				t.Errorf("Location = %q", loc)
			}
		}},
		{"truncated", Truncated(), 200, ContentTypeJSON, checkInvalidJSON},
		{"malformed", Malformed(), 200, ContentTypeJSON, checkInvalidJSON},
		{"wrong types", WrongTypes(), 200, ContentTypeJSON, func(t *testing.T, res result) {
			var env struct {
				Response struct {
					CronParams    struct{ Hour any }
					BackupsStored any
				}
			}
			if err := json.Unmarshal(res.body, &env); err != nil {
				t.Fatal(err)
			}
			if env.Response.CronParams.Hour != "2" || env.Response.BackupsStored != "7" {
				t.Errorf("hour/backupsStored = %#v/%#v, want strings", env.Response.CronParams.Hour, env.Response.BackupsStored)
			}
		}},
		{"status one", StatusOneEnvelope(), 200, ContentTypeJSON, func(t *testing.T, res result) {
			m := decodeObject(t, res.body)
			if string(m["status"]) != "1" || string(m["statusCode"]) != "200" {
				t.Errorf("body = %s", res.body)
			}
		}},
		{"huge", Huge(1 << 20), 200, ContentTypeJSON, func(t *testing.T, res result) {
			if len(res.body) != 1<<20 || !bytes.HasPrefix(res.body, []byte(hugePrefix)) {
				t.Errorf("body length %d, prefix %q", len(res.body), res.body[:min(len(res.body), 60)])
			}
			if res.header.Get("Content-Length") != "" {
				t.Errorf("Content-Length = %q, want none", res.header.Get("Content-Length"))
			}
		}},
		{"huge with length", HugeWithLength(100000), 200, ContentTypeJSON, func(t *testing.T, res result) {
			if len(res.body) != 100000 || res.header.Get("Content-Length") != "100000" {
				t.Errorf("body length %d, Content-Length %q", len(res.body), res.header.Get("Content-Length"))
			}
		}},
		{"tiny huge", Huge(10), 200, ContentTypeJSON, func(t *testing.T, res result) {
			if string(res.body) != hugePrefix[:10] {
				t.Errorf("body = %q", res.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			p.SetSchedule(ScheduleWeekly)
			srv := newServer(t, p)
			p.SetOverride("/API/2.0/backup/getbackupschedule/", tt.resp)
			// No credentials: overrides apply before authentication.
			res := do(t, srv, request{path: PathSchedule})
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d", res.status, tt.want)
			}
			if ct := res.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			tt.check(t, res)
			if p.Requests(PathSchedule) != 1 {
				t.Errorf("Requests = %d, want 1", p.Requests(PathSchedule))
			}

			p.SetOverride(PathSchedule, nil)
			if res := do(t, srv, request{path: PathSchedule, auth: "Bearer " + apiKey}); res.status != 200 || !bytes.Contains(res.body, []byte(`"count":1`)) {
				t.Errorf("after removing the override: %d %s", res.status, res.body)
			}
		})
	}
}

func checkEmpty(t *testing.T, res result) {
	t.Helper()
	if len(res.body) != 0 || res.header.Get("Content-Length") != "0" {
		t.Errorf("body = %q, Content-Length = %q; want empty, 0", res.body, res.header.Get("Content-Length"))
	}
}

func checkHTML(want string) func(t *testing.T, res result) {
	return func(t *testing.T, res result) {
		t.Helper()
		if !bytes.Contains(res.body, []byte(want)) || !bytes.Contains(res.body, []byte("<html")) {
			t.Errorf("body = %s, want HTML containing %q", res.body, want)
		}
	}
}

func checkInvalidJSON(t *testing.T, res result) {
	t.Helper()
	if json.Valid(res.body) {
		t.Errorf("body is valid JSON: %s", res.body)
	}
}

func TestTruncatedConnection(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetOverride(PathSchedule, TruncatedConnection())
	_, err := send(context.Background(), srv, request{path: PathSchedule})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
}

func TestHangReleasedByClientCancel(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetHang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := send(ctx, srv, request{path: PathSchedule, auth: "Bearer " + apiKey})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if got := p.Requests(PathSchedule); got != 1 {
		t.Errorf("Requests = %d, want 1", got)
	}
}

func TestHangReleasedBySetHangFalse(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetHang(true)
	done := make(chan result, 1)
	go func() {
		res, err := send(context.Background(), srv, request{path: PathSchedule, auth: "Bearer " + apiKey})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	waitFor(t, func() bool { return p.Requests(PathSchedule) == 1 })
	select {
	case <-done:
		t.Fatal("answered while hanging")
	case <-time.After(50 * time.Millisecond):
	}
	p.SetHang(false)
	if res := <-done; res.status != http.StatusOK {
		t.Errorf("status = %d, want 200", res.status)
	}
}

func TestHangReleasedByClose(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetHang(true)
	errc := make(chan error, 1)
	go func() {
		_, err := send(context.Background(), srv, request{path: PathSchedule, auth: "Bearer " + apiKey})
		errc <- err
	}()
	waitFor(t, func() bool { return p.Requests(PathSchedule) == 1 })
	p.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("hung request got an answer after Close; want an aborted connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hung request")
	}
	// After Close nothing hangs any more.
	if _, err := send(context.Background(), srv, request{path: PathSchedule}); err == nil {
		t.Error("request after Close got an answer while hang is set")
	}
}

func TestLatency(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetLatency(80 * time.Millisecond)
	start := time.Now()
	res := do(t, srv, request{path: PathSchedule, auth: "Bearer " + apiKey})
	if elapsed := time.Since(start); res.status != 200 || elapsed < 80*time.Millisecond {
		t.Errorf("status %d after %v, want 200 after >= 80ms", res.status, elapsed)
	}

	p.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := send(ctx, srv, request{path: PathSchedule}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFleet(t *testing.T) {
	a, b := NewPortal(apiKey), NewPortal(pat)
	a.SetSchedule(ScheduleWeekly)
	b.SetSchedule(ScheduleDaily)
	f := NewFleet()
	f.Add("a.example.com", a)
	f.Add("B.example.com:443", b)
	srv := newServer(t, f)
	t.Cleanup(f.Close)

	tests := []struct {
		name     string
		host     string
		forward  string
		auth     string
		want     int
		wantResp string
	}{
		{"portal a", "a.example.com", "", "Bearer " + apiKey, 200, ScheduleWeekly},
		{"portal b with port", "b.example.com:8080", "", pat, 200, ScheduleDaily},
		{"forwarded host", "127.0.0.1", "A.example.com", "Bearer " + apiKey, 200, ScheduleWeekly},
		{"key of another portal", "b.example.com", "", "Bearer " + apiKey, 401, ""},
		{"unknown host", "c.example.com", "", "Bearer " + apiKey, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request{path: PathSchedule, host: tt.host, auth: tt.auth}
			if tt.forward != "" {
				req.header = map[string]string{"X-Forwarded-Host": tt.forward}
			}
			res := do(t, srv, req)
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tt.want, res.body)
			}
			switch tt.want {
			case 200:
				m := decodeObject(t, res.body)
				if string(m["response"]) != compact(t, tt.wantResp) {
					t.Errorf("response = %s, want %s", m["response"], tt.wantResp)
				}
			case 404:
				if ct := res.header.Get("Content-Type"); ct != ContentTypeProblem {
					t.Errorf("Content-Type = %q", ct)
				}
			}
		})
	}
	if a.Requests(PathSchedule) != 2 || b.Requests(PathSchedule) != 2 {
		t.Errorf("requests a=%d b=%d, want 2 and 2", a.Requests(PathSchedule), b.Requests(PathSchedule))
	}
	if f.Portal("A.EXAMPLE.COM:1") != a {
		t.Error("Portal lookup is not case-insensitive or keeps the port")
	}
}

func TestSamples(t *testing.T) {
	samples := map[string]string{
		"ScheduleWeekly": ScheduleWeekly, "ScheduleNeverRun": ScheduleNeverRun, "ScheduleDaily": ScheduleDaily,
		"ScheduleMonthly15": ScheduleMonthly15, "ScheduleDataStore": ScheduleDataStore, "ScheduleS3": ScheduleS3,
		"SchedulePostgres": SchedulePostgres, "ScheduleOldServer": ScheduleOldServer, "ScheduleDump": ScheduleDump,
		"ProgressFailed": ProgressFailed, "ProgressRunning": ProgressRunning, "ProgressCompleted": ProgressCompleted,
		"ProgressCanceled": ProgressCanceled, "ProgressFailted": ProgressFailted, "ProgressWarning": ProgressWarning,
	}
	for name, s := range samples {
		if !json.Valid([]byte(s)) {
			t.Errorf("%s is not valid JSON", name)
		}
	}
	for _, secret := range S3SecretValues {
		if !strings.Contains(ScheduleS3, secret) {
			t.Errorf("ScheduleS3 lacks %q", secret)
		}
	}
	var progress struct {
		IsCompleted bool
		Progress    int
		Status      int
		Error       string
		Link        string
	}
	if err := json.Unmarshal([]byte(ProgressCompleted), &progress); err != nil {
		t.Fatal(err)
	}
	if !progress.IsCompleted || progress.Progress != 100 || progress.Status != 2 || progress.Error != "" ||
		!strings.Contains(progress.Link, "X-Amz-Signature="+ProgressLinkSecret) {
		t.Errorf("ProgressCompleted = %+v", progress)
	}
	var dump struct {
		Dump          bool
		StorageParams map[string]*string
	}
	if err := json.Unmarshal([]byte(ScheduleDump), &dump); err != nil {
		t.Fatal(err)
	}
	if !dump.Dump || dump.StorageParams["tenantId"] == nil || *dump.StorageParams["tenantId"] != "-1" {
		t.Errorf("ScheduleDump = %+v", dump)
	}
}

func TestHistory(t *testing.T) {
	fileName := regexp.MustCompile(`^(docspace|workspace)_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.tar\.gz$`)
	tests := []struct {
		name      string
		history   []Backup
		path      string
		saas      bool
		wantCount int
		wantFirst string // createdOn of the first record
	}{
		{name: "none stored", path: PathHistory, wantCount: 0},
		{name: "weekly", history: HistoryWeekly, path: PathHistory, wantCount: 5, wantFirst: "2026-06-29T02:09:58"},
		{name: "PostgreSQL forms", history: HistoryWeeklyPostgres, path: PathHistory + "?Dump=false", wantCount: 5, wantFirst: "2026-06-29T02:09:58.412345Z"},
		{name: "not stored", history: HistoryNotStored, path: PathHistory, wantCount: 4, wantFirst: "2026-06-24T16:42:17"},
		{name: "dump", path: PathHistory + "?Dump=true", wantCount: 3, wantFirst: "2026-06-30T04:31:40"},
		{name: "a thousand", history: ManyBackups("docspace", time.Date(2026, 6, 30, 3, 5, 0, 0, time.UTC), 1000), path: PathHistory, wantCount: 1000, wantFirst: "2026-06-30T03:05:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPortal(apiKey)
			p.SetHistory(tt.history...)
			p.SetDumpHistory(HistoryDump...)
			srv := newServer(t, p)
			res := do(t, srv, request{path: tt.path, auth: "Bearer " + apiKey})
			if res.status != 200 || res.header.Get("Content-Type") != ContentTypeJSON {
				t.Fatalf("status %d, Content-Type %q", res.status, res.header.Get("Content-Type"))
			}
			m := decodeObject(t, res.body)
			if string(m["count"]) != strconv.Itoa(tt.wantCount) || string(m["status"]) != "0" {
				t.Errorf("count %s status %s, want %d and 0", m["count"], m["status"], tt.wantCount)
			}
			var records []map[string]json.RawMessage
			if err := json.Unmarshal(m["response"], &records); err != nil {
				t.Fatalf("response is not a list: %v: %s", err, m["response"])
			}
			if records == nil || len(records) != tt.wantCount {
				t.Fatalf("response = %s, want a list of %d", m["response"], tt.wantCount)
			}
			for i, r := range records {
				var b Backup
				raw, _ := json.Marshal(r)
				if err := json.Unmarshal(raw, &b); err != nil || len(r) != 5 {
					t.Fatalf("record %d = %s, want id, fileName, storageType, createdOn, expiresOn", i, raw)
				}
				if !fileName.MatchString(b.FileName) || len(b.ID) != 36 {
					t.Errorf("record %d: fileName %q, id %q", i, b.FileName, b.ID)
				}
			}
			if tt.wantCount > 0 && string(records[0]["createdOn"]) != strconv.Quote(tt.wantFirst) {
				t.Errorf("first createdOn = %s, want %q", records[0]["createdOn"], tt.wantFirst)
			}
			if len(res.body) > 1<<20 {
				t.Errorf("the answer is %d bytes, over the exporter's 1 MiB limit", len(res.body))
			}
		})
	}
}

func TestHistoryEmptyIsAList(t *testing.T) {
	srv := newServer(t, NewPortal(apiKey))
	res := do(t, srv, request{path: PathHistory, auth: "Bearer " + apiKey})
	want := `{"response":[],"count":0,"links":[{"href":"` + srv.URL + PathHistory + `","action":"GET"}],"status":0,"statusCode":200}`
	if string(res.body) != want {
		t.Errorf("body = %s\nwant   %s", res.body, want)
	}
}

// Like DocSpace, the portal drops the records of backups whose file is gone
// when the history is read, and only then.
func TestHistoryDropsGoneFiles(t *testing.T) {
	p := NewPortal(apiKey)
	gone := HistoryWeekly[0]
	gone.Gone = true
	p.SetHistory(append([]Backup{gone}, HistoryWeekly[1:]...)...)
	srv := newServer(t, p)
	if n := len(p.History()); n != 5 {
		t.Fatalf("before the call the portal lists %d backups, want 5", n)
	}
	for range 2 {
		res := do(t, srv, request{path: PathHistory, auth: "Bearer " + apiKey})
		if m := decodeObject(t, res.body); string(m["count"]) != "4" || strings.Contains(string(res.body), gone.ID) {
			t.Errorf("the gone backup is listed: %s", res.body)
		}
	}
	if n := len(p.History()); n != 4 {
		t.Errorf("after the call the portal keeps %d records, want 4", n)
	}
}

func TestHistoryRefusals(t *testing.T) {
	p := NewPortal(apiKey)
	p.SetHistory(HistoryWeekly...)
	p.SetSaaS(true)
	srv := newServer(t, p)
	if res := do(t, srv, request{path: PathHistory}); res.status != http.StatusUnauthorized || len(res.body) != 0 {
		t.Errorf("without a key: %d %s", res.status, res.body)
	}
	if res := do(t, srv, request{path: PathHistory + "?Dump=true", auth: "Bearer " + apiKey}); res.status != http.StatusForbidden {
		t.Errorf("Dump=true on SaaS: %d %s", res.status, res.body)
	}
	p.SetOverride(PathHistory, ServerError("Could not find a part of the path."))
	if res := do(t, srv, request{path: PathHistory, auth: "Bearer " + apiKey}); res.status != http.StatusInternalServerError {
		t.Errorf("override: %d %s", res.status, res.body)
	}
}

func TestStoredBackup(t *testing.T) {
	created := time.Date(2026, 6, 29, 2, 9, 58, 412345678, time.UTC)
	b := StoredBackup("docspace", created, 4, DateTimePostgres)
	if b.FileName != "docspace_2026-06-29_02-09-58.tar.gz" || b.CreatedOn != "2026-06-29T02:09:58.412345Z" ||
		b.ExpiresOn != "2026-06-30T02:09:58.412345Z" || b.StorageType != 4 {
		t.Errorf("DataStore backup = %+v", b)
	}
	b = StoredBackup("docspace", created.In(time.FixedZone("", 3*3600)), 5, DateTimeMySQL)
	if b.FileName != "docspace_2026-06-29_02-09-58.tar.gz" || b.CreatedOn != "2026-06-29T02:09:58" || b.ExpiresOn != "0001-01-01T00:00:00" {
		t.Errorf("S3 backup = %+v", b)
	}
	if StoredBackup("docspace", created, 0, DateTimeMySQL).ID == StoredBackup("docspace", created.Add(time.Second), 0, DateTimeMySQL).ID {
		t.Error("two backups share an id")
	}
}

// A slow or hung path holds only its own requests.
func TestPathLatencyAndHang(t *testing.T) {
	p := NewPortal(apiKey)
	srv := newServer(t, p)
	p.SetPathLatency(PathHistory, time.Hour)
	p.SetPathHang(PathProgress, true)
	if res := do(t, srv, request{path: PathSchedule, auth: "Bearer " + apiKey}); res.status != 200 {
		t.Errorf("schedule: %d", res.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := send(ctx, srv, request{path: PathHistory + "/", auth: "Bearer " + apiKey}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow history: err = %v, want deadline exceeded", err)
	}

	done := make(chan result, 1)
	go func() {
		res, err := send(context.Background(), srv, request{path: PathProgress, auth: "Bearer " + apiKey})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	waitFor(t, func() bool { return p.Requests(PathProgress) == 1 })
	select {
	case <-done:
		t.Fatal("the hung path answered")
	case <-time.After(50 * time.Millisecond):
	}
	p.SetPathHang(PathProgress, false)
	if res := <-done; res.status != http.StatusOK {
		t.Errorf("released: status %d", res.status)
	}
}
