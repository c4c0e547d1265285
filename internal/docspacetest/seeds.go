package docspacetest

import "encoding/json"

// Answer is one answer of DocSpace, as a fuzz test's seed gives it.
type Answer struct {
	Status      int
	ContentType string
	Body        string
}

// AnswerSeeds are the seeds of the fuzz tests of the answers: the samples
// of every endpoint in DocSpace's envelope, error envelopes, HTML and the
// odd answers the tests found.
func AnswerSeeds() []Answer {
	var seeds []Answer
	add := func(status int, contentType, body string) {
		seeds = append(seeds, Answer{status, contentType, body})
	}
	envelope := func(schedule string) string {
		return `{"response":` + schedule + `,"count":1,"links":[{"href":"https://docspace.example.com/api/2.0/backup/getbackupschedule","action":"GET"}],"status":0,"statusCode":200}`
	}
	for _, s := range []string{
		ScheduleWeekly, ScheduleNeverRun, ScheduleDaily,
		ScheduleMonthly15, ScheduleDataStore, ScheduleS3,
		SchedulePostgres, ScheduleOldServer, ScheduleDump,
	} {
		add(200, "application/json; charset=utf-8", envelope(s))
	}
	add(200, "application/json; charset=utf-8", `{"count":0,"links":[],"status":0,"statusCode":200}`)
	add(200, "application/json", `{"response":null,"status":0}`)
	add(403, "application/json; charset=utf-8", `{"error":{"message":"Access denied","type":"x","stack":"   at y","hresult":-2146233088},"status":1,"statusCode":403}`)
	add(402, "application/problem+json", `{"status":402,"traceId":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}`)
	add(400, "application/json", `{"response":{"errors":{"Dump":["bad"]}},"status":1,"statusCode":400}`)
	add(200, "text/html", `<!DOCTYPE html><html></html>`)
	add(200, "application/json", `{"response":{"cronParams":{"hour":"2"}},"status":0}`)
	add(200, "application/json", `{"response":{"lastBackupTime":"2026-02-30T00:00:00"},"status":0}`)
	add(200, "application/json", `{"response":`)
	for _, p := range []string{ProgressFailed, ProgressRunning, ProgressCompleted,
		ProgressCanceled, ProgressFailted, ProgressWarning} {
		add(200, "application/json; charset=utf-8", envelope(p))
	}
	add(200, "application/json; charset=utf-8", envelope(`{"timezone":"Europe/Berlin","utcOffset":"01:00:00","utcHoursOffset":1.0}`))
	for _, h := range [][]Backup{HistoryWeekly, HistoryWeeklyPostgres, HistoryDump, HistoryExpiring, nil} {
		records, err := json.Marshal(h)
		if err != nil {
			panic(err)
		}
		add(200, "application/json; charset=utf-8", envelope(string(records)))
	}
	add(200, "application/json", `{"response":[null,{"createdOn":null},{"createdOn":"0001-01-01T00:00:00"}],"status":0}`)
	add(200, "application/json", `{"response":[{"createdOn":"2026-06-29T02:07:31+14:00"},{"createdOn":"-infinity"}],"status":0}`)

	return seeds
}
