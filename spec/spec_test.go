package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/collector"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// key is the fake portal's API key.
const key = "sk-spec-test"

// answers are the fake's answers for every call the exporter makes (the
// endpoints table of collector/collector.go), one line each: the path and
// how the fake is set up. A new endpoint is one more line.
var answers = []struct {
	name, path string
	setup      func(p *docspacetest.Portal)
}{
	{"schedule weekly", docspacetest.PathSchedule, func(p *docspacetest.Portal) { p.SetSchedule(docspacetest.ScheduleWeekly) }},
	{"schedule DataStore", docspacetest.PathSchedule, func(p *docspacetest.Portal) { p.SetSchedule(docspacetest.ScheduleDataStore) }},
	{"schedule S3", docspacetest.PathSchedule, func(p *docspacetest.Portal) { p.SetSchedule(docspacetest.ScheduleS3) }},
	{"schedule Postgres", docspacetest.PathSchedule, func(p *docspacetest.Portal) { p.SetSchedule(docspacetest.SchedulePostgres) }},
	{"schedule none", docspacetest.PathSchedule, func(p *docspacetest.Portal) {}},
	{"progress running", docspacetest.PathProgress, func(p *docspacetest.Portal) { p.SetProgress(docspacetest.ProgressRunning) }},
	{"progress completed", docspacetest.PathProgress, func(p *docspacetest.Portal) { p.SetProgress(docspacetest.ProgressCompleted) }},
	{"progress failed", docspacetest.PathProgress, func(p *docspacetest.Portal) { p.SetProgress(docspacetest.ProgressFailed) }},
	{"progress warning", docspacetest.PathProgress, func(p *docspacetest.Portal) { p.SetProgress(docspacetest.ProgressWarning) }},
	{"progress Failted", docspacetest.PathProgress, func(p *docspacetest.Portal) { p.SetProgress(docspacetest.ProgressFailted) }},
	{"progress none", docspacetest.PathProgress, func(p *docspacetest.Portal) {}},
	{"settings", docspacetest.PathSettings, func(p *docspacetest.Portal) { p.SetTimezone("Europe/Berlin") }},
	{"history", docspacetest.PathHistory, func(p *docspacetest.Portal) { p.SetHistory(docspacetest.HistoryWeekly...) }},
	{"history Postgres", docspacetest.PathHistory, func(p *docspacetest.Portal) { p.SetHistory(docspacetest.HistoryWeeklyPostgres...) }},
	{"history none", docspacetest.PathHistory, func(p *docspacetest.Portal) {}},
	{"restore running", docspacetest.PathRestore, func(p *docspacetest.Portal) { p.SetRestore(docspacetest.RestoreRunning) }},
	{"restore completed", docspacetest.PathRestore, func(p *docspacetest.Portal) { p.SetRestore(docspacetest.RestoreCompleted) }},
	{"restore none", docspacetest.PathRestore, func(p *docspacetest.Portal) {}},
	{"backups count", docspacetest.PathBackupsCount, func(p *docspacetest.Portal) { p.SetHistory(docspacetest.HistoryWeekly...) }},
	{"backups count, paid", docspacetest.PathBackupsCount + "?paid=true", func(p *docspacetest.Portal) { p.SetHistory(docspacetest.HistoryWeekly...) }},
}

// Where the description is wrong, the server (ONLYOFFICE/DocSpace-server,
// master ed2994e7 = v3.7.2) decides, and the test follows the server:
//
//   - The envelope's status is 0 on success: the description gives it no
//     value (common/ASC.Api.Core/Middleware/CommonApiResponse.cs, SuccessApiResponse sets Status = 0).
//   - An API key goes in "Authorization: Bearer sk-...", not in the header ApiKeyBearer that
//     securitySchemes names (common/ASC.Api.Core/Auth/ApiKeyBearerAuthHandler.cs reads Request.Headers.Authorization).
//   - BackupProgress (of getbackupprogress and getrestoreprogress) has status (DistributedTaskStatus
//     0-4), which this description leaves out while forbidding other properties
//     (common/ASC.Data.Backup.Core/protos/BackupProgress.cs).
//   - getbackupscountbypaid (3.8) is not in this description: its answer, {free, paid}, follows the
//     server's BackupsCountResultDto (ASC.Data.Backup.ApiModels, BackupDto.cs), and the
//     exporter falls back to getbackupscount, which is, when it answers 404.
//   - A date-time has no offset from a MySQL-backed server ("2026-06-29T02:07:31"), which is no
//     RFC 3339 date-time (common/ASC.Data.Backup.Core/Contracts/BackupServiceModel.cs: a plain DateTime):
//     formats are not asserted.
//
// unlisted removes what the description leaves out but the server sends
// (the third point) from a body before it is validated.
func unlisted(path string, body []byte) []byte {
	if path != docspacetest.PathProgress && path != docspacetest.PathRestore {
		return body
	}
	var env map[string]any
	if json.Unmarshal(body, &env) != nil {
		return body
	}
	if r, ok := env["response"].(map[string]any); ok {
		delete(r, "status")
	}
	out, _ := json.Marshal(env)
	return out
}

var (
	loadOnce sync.Once
	loaded   validator.Validator
	loadErr  []error
)

// specValidator returns the validator of testdata/docspace-api.yaml.
func specValidator(t *testing.T) validator.Validator {
	t.Helper()
	loadOnce.Do(func() {
		data, err := os.ReadFile("testdata/docspace-api.yaml")
		if err != nil {
			loadErr = []error{err}
			return
		}
		doc, err := libopenapi.NewDocument(data)
		if err != nil {
			loadErr = []error{err}
			return
		}
		loaded, loadErr = validator.NewValidator(doc)
	})
	if len(loadErr) > 0 {
		t.Fatalf("loading the description: %v", loadErr)
	}
	return loaded
}

// call asks srv for path with the key, as the exporter does, and returns
// the request and the answer with its body read.
func call(t *testing.T, srv *httptest.Server, path string) (*http.Request, *http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return req, resp, body
}

// validate checks an answer of path against the description.
func validate(t *testing.T, req *http.Request, resp *http.Response, body []byte) []error {
	t.Helper()
	resp.Body = io.NopCloser(bytes.NewReader(unlisted(req.URL.Path, body)))
	_, verrs := specValidator(t).ValidateHttpResponse(req, resp)
	var errs []error
	for _, e := range verrs {
		errs = append(errs, e)
		for _, s := range e.SchemaValidationErrors {
			t.Logf("%s: %s", s.FieldPath, s.Reason)
		}
	}
	return errs
}

func TestFakeAnswersMatchDescription(t *testing.T) {
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			p := docspacetest.NewPortal(key)
			a.setup(p)
			srv := httptest.NewServer(p)
			defer srv.Close()
			req, resp, body := call(t, srv, a.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: HTTP %d, want 200", a.path, resp.StatusCode)
			}
			if errs := validate(t, req, resp, body); len(errs) > 0 {
				t.Errorf("%s: the fake's answer %s does not match the description: %v", a.path, body, errs)
			}
			// The description says nothing of the value; the server sends 0.
			var env struct{ Status *int }
			if err := json.Unmarshal(body, &env); err != nil || env.Status == nil || *env.Status != 0 {
				t.Errorf("%s: envelope status of %s: want 0", a.path, body)
			}
		})
	}
}

// notDescribed are the calls the exporter makes that the description
// lacks (see above).
var notDescribed = map[string]bool{strings.ToLower(docspacetest.PathBackupsCountByPaid): true}

// Every call the exporter makes has an answer above: those of a working
// portal, of a portal being restored (getrestoreprogress), and of a DocSpace
// without getbackupscountbypaid (getbackupscount).
func TestEveryCallHasAnAnswer(t *testing.T) {
	p := docspacetest.NewPortal(key)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewServer(p)
	defer srv.Close()
	scrape(t, srv, config.Portal{})

	restoring := docspacetest.NewPortal(key)
	restoring.SetRestore(docspacetest.RestoreRunning)
	restoring.SetOverride(docspacetest.PathBackupsCountByPaid, docspacetest.NotFoundProblem())
	srv2 := httptest.NewServer(restoring)
	defer srv2.Close()
	scrape(t, srv2, config.Portal{})
	restoring.SetRestore("")
	scrape(t, srv2, config.Portal{})

	listed := map[string]bool{}
	for _, a := range answers {
		path, _, _ := strings.Cut(a.path, "?")
		listed[strings.ToLower(path)] = true
	}
	for _, path := range []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathSettings, docspacetest.PathHistory,
		docspacetest.PathRestore, docspacetest.PathBackupsCount, docspacetest.PathBackupsCountByPaid} {
		if p.Requests(path)+restoring.Requests(path) == 0 {
			t.Errorf("the exporter no longer calls %s: drop it from the list", path)
		}
		if !listed[strings.ToLower(path)] && !notDescribed[strings.ToLower(path)] {
			t.Errorf("the exporter calls %s, but no answer of the fake for it is checked", path)
		}
	}
}

// The checks can fail: answers that break the description are rejected.
func TestBrokenAnswersRejected(t *testing.T) {
	for _, b := range []struct{ name, path, body string }{
		{"storage type as text", docspacetest.PathSchedule,
			`{"response":{"storageType":"documents","storageParams":{},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false},"count":1,"links":[],"status":0,"statusCode":200}`},
		{"period out of the enum", docspacetest.PathSchedule,
			`{"response":{"storageType":0,"storageParams":{},"cronParams":{"period":7,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false},"count":1,"links":[],"status":0,"statusCode":200}`},
		{"record without createdOn", docspacetest.PathHistory,
			`{"response":[{"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","fileName":null,"storageType":0,"expiresOn":"0001-01-01T00:00:00"}],"count":1,"links":[],"status":0,"statusCode":200}`},
		{"progress as text", docspacetest.PathProgress,
			`{"response":{"isCompleted":false,"progress":"45%","error":"","link":"","tenantId":1,"backupProgressEnum":0},"count":1,"links":[],"status":0,"statusCode":200}`},
	} {
		t.Run(b.name, func(t *testing.T) {
			p := docspacetest.NewPortal(key)
			p.SetOverride(b.path, &docspacetest.Response{Header: http.Header{"Content-Type": {docspacetest.ContentTypeJSON}}, Body: []byte(b.body)})
			srv := httptest.NewServer(p)
			defer srv.Close()
			req, resp, body := call(t, srv, b.path)
			if errs := validate(t, req, resp, body); len(errs) == 0 {
				t.Errorf("%s: %s passed the description's check", b.path, body)
			}
		})
	}
}

// ApiKeyBearer, as the description declares it, is a header of that name;
// the server reads the key from Authorization (see above). The test fails
// once the description is fixed, to drop the note.
func TestApiKeyBearerIsNotWhereTheServerReads(t *testing.T) {
	data, err := os.ReadFile("testdata/docspace-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := model.Model.Components.SecuritySchemes.Get("ApiKeyBearer")
	if !ok || s.In != "header" || s.Name != "ApiKeyBearer" {
		t.Fatalf("ApiKeyBearer is now %+v: check it against the server and update the note", s)
	}
	p := docspacetest.NewPortal(key)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewServer(p)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+docspacetest.PathSchedule, nil)
	req.Header.Set("ApiKeyBearer", key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a key in the header ApiKeyBearer: HTTP %d, want 401 as from DocSpace", resp.StatusCode)
	}
}

// unusual are spec-valid answers unlike the fake's usual ones: nulls where
// the description allows them, an offset in a date, records in no order.
// Each goes through the exporter, which must read the values right.
var unusual = []struct {
	name, path, body string
	metric, want     string
}{
	{"schedule with an offset and nulls", docspacetest.PathSchedule,
		`{"response":{"storageType":5,"storageParams":{"module":null,"bucket":null},"cronParams":{"period":2,"hour":23,"day":31},"backupsStored":null,"lastBackupTime":"2008-04-10T06:30:00+04:00","dump":false},"count":1,"links":[],"status":0,"statusCode":200}`,
		"docspace_backup_last_timestamp_seconds docspace_backup_schedule_hour docspace_backup_schedule_day", `
# HELP docspace_backup_last_timestamp_seconds When DocSpace's scheduler started the last scheduled backup (lastBackupTime): no proof that it succeeded. Unix seconds.
# TYPE docspace_backup_last_timestamp_seconds gauge
docspace_backup_last_timestamp_seconds 1.2077946e+09
# HELP docspace_backup_schedule_day The schedule's day (cronParams.day): 0 for daily; 1-7 for weekly with 1 = Sunday; 1-31 for monthly.
# TYPE docspace_backup_schedule_day gauge
docspace_backup_schedule_day 31
# HELP docspace_backup_schedule_hour The hour (0-23, portal time zone) at which the scheduled backup starts (cronParams.hour).
# TYPE docspace_backup_schedule_hour gauge
docspace_backup_schedule_hour 23
`},
	{"history in no order, file names null", docspacetest.PathHistory,
		`{"response":[` +
			`{"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","fileName":null,"storageType":0,"createdOn":"2026-06-22T02:08:40","expiresOn":"0001-01-01T00:00:00"},` +
			`{"id":"16fd2706-8baf-433b-82eb-8c7fada847da","fileName":null,"storageType":4,"createdOn":"2026-06-29T02:09:58.412345Z","expiresOn":"2026-06-30T02:09:58.412345Z"},` +
			`{"id":"886313e1-3b8a-5372-9b90-0c9aee199e5d","fileName":"docspace_2026-06-10_09-15-00.tar.gz","storageType":0,"createdOn":"2026-06-10T11:15:00+02:00","expiresOn":"0001-01-01T00:00:00"}` +
			`],"count":3,"links":[],"status":0,"statusCode":200}`,
		"docspace_backup_history_backups docspace_backup_history_latest_timestamp_seconds docspace_backup_history_oldest_timestamp_seconds", `
# HELP docspace_backup_history_backups How many backups the portal lists as stored (getbackuphistory: their files were uploaded and still exist), as of the last successful history call.
# TYPE docspace_backup_history_backups gauge
docspace_backup_history_backups 3
# HELP docspace_backup_history_latest_timestamp_seconds When the newest stored backup was made (createdOn), as of the last successful history call: a backup from then can be restored. Unix seconds.
# TYPE docspace_backup_history_latest_timestamp_seconds gauge
docspace_backup_history_latest_timestamp_seconds 1.782698998412345e+09
# HELP docspace_backup_history_oldest_timestamp_seconds When the oldest stored backup was made (createdOn), as of the last successful history call. Unix seconds.
# TYPE docspace_backup_history_oldest_timestamp_seconds gauge
docspace_backup_history_oldest_timestamp_seconds 1.7810829e+09
`},
}

func TestUnusualValidAnswers(t *testing.T) {
	for _, u := range unusual {
		t.Run(u.name, func(t *testing.T) {
			p := docspacetest.NewPortal(key)
			p.SetSchedule(docspacetest.ScheduleWeekly)
			p.SetOverride(u.path, &docspacetest.Response{Header: http.Header{"Content-Type": {docspacetest.ContentTypeJSON}}, Body: []byte(u.body)})
			srv := httptest.NewServer(p)
			defer srv.Close()
			req, resp, body := call(t, srv, u.path)
			if errs := validate(t, req, resp, body); len(errs) > 0 {
				t.Fatalf("%s: %s is not spec-valid: %v", u.path, body, errs)
			}
			m := scrape(t, srv, config.Portal{Timezone: "UTC"})
			if err := testutil.CollectAndCompare(m, strings.NewReader(u.want), strings.Fields(u.metric)...); err != nil {
				t.Error(err)
			}
		})
	}
}

// scrape scrapes the portal at srv as the exporter does, with settings
// (its URL and key are filled in), once the stored-backup history, which
// the exporter reads in the background, is in.
func scrape(t *testing.T, srv *httptest.Server, settings config.Portal) *collector.Metrics {
	t.Helper()
	t.Setenv("DSX_SPEC_KEY", key)
	settings.Name, settings.URL, settings.APIKeyEnv, settings.HistoryInterval = "spec", srv.URL, "DSX_SPEC_KEY", time.Hour
	settings.Timeout = 5 * time.Second
	if err := settings.Check(); err != nil {
		t.Fatal(err)
	}
	portal, err := collector.NewPortal(settings, collector.NewMemory(), collector.Options{HistoryTimeout: 5 * time.Second, Pool: client.NewPool(2)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := portal.Scrape(context.Background(), logger)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(m)
		if n, _ := testutil.GatherAndCount(reg, "docspace_backup_history_refresh_timestamp_seconds"); n == 1 || time.Now().After(deadline) {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
}
