package docspacetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Response is a canned answer, installed with Portal.SetOverride or served
// directly (it is an http.Handler). A Response is never modified while it is
// served, so one value may answer many concurrent requests.
type Response struct {
	// Status is the HTTP status code; 0 means 200.
	Status int
	// Header holds the response headers. When BodyFunc is nil and there is
	// no Content-Length header, one is set from len(Body).
	Header http.Header
	// Body is the response body, used when BodyFunc is nil.
	Body []byte
	// BodyFunc, when set, writes the body instead of Body: for huge or
	// streamed bodies. The writer is the http.ResponseWriter, so it can be
	// asserted to http.Flusher.
	BodyFunc func(w io.Writer)
}

// ServeHTTP writes the canned answer. The request is not used and may be nil.
func (resp *Response) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = append([]string(nil), v...)
	}
	if resp.BodyFunc == nil && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if resp.BodyFunc != nil {
		resp.BodyFunc(w)
		return
	}
	_, _ = w.Write(resp.Body)
}

// Content types used by DocSpace and nginx.
const (
	ContentTypeJSON    = "application/json; charset=utf-8"
	ContentTypeProblem = "application/problem+json; charset=utf-8"
	ContentTypeHTML    = "text/html"
)

// traceID is the W3C trace id ASP.NET puts into ProblemDetails.
const traceID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"

// sampleHost is the portal host used in the links of canned envelopes.
const sampleHost = "https://docspace.example.com"

func jsonResponse(status int, body []byte) *Response {
	return &Response{
		Status: status,
		Header: http.Header{"Content-Type": {ContentTypeJSON}},
		Body:   body,
	}
}

func emptyResponse(status int) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Length": {"0"}}}
}

func htmlResponse(status int, body string) *Response {
	return &Response{
		Status: status,
		Header: http.Header{"Content-Type": {ContentTypeHTML}, "Server": {"nginx"}},
		Body:   []byte(body),
	}
}

// Unauthorized is the 401 for missing or invalid credentials: an empty body
// with Content-Length 0 and no WWW-Authenticate header.
func Unauthorized() *Response {
	return emptyResponse(http.StatusUnauthorized)
}

// unauthorized is Unauthorized plus, when a cookie was sent, the Set-Cookie
// header that clears asc_auth_key.
func unauthorized(clearCookie bool) *Response {
	resp := Unauthorized()
	if clearCookie {
		resp.Header.Set("Set-Cookie", authCookie+"=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/; secure; samesite=none; httponly")
	}
	return resp
}

// methodNotAllowed is what ASP.NET routing answers for a known route and a
// wrong method.
func methodNotAllowed() *Response {
	resp := emptyResponse(http.StatusMethodNotAllowed)
	resp.Header.Set("Allow", http.MethodGet)
	return resp
}

// errorEnvelope is DocSpace's ErrorApiResponse. Nulls are kept.
type errorEnvelope struct {
	Error      errorDetail `json:"error"`
	Status     int         `json:"status"`
	StatusCode int         `json:"statusCode"`
}

type errorDetail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Stack   string `json:"stack"`
	HResult int    `json:"hresult"`
}

func errorResponse(status int, detail errorDetail) *Response {
	body, err := json.Marshal(errorEnvelope{Error: detail, Status: 1, StatusCode: status})
	if err != nil {
		panic(err) // only strings and ints: cannot happen
	}
	return jsonResponse(status, body)
}

// ForbiddenAccessDenied is the 403 for an authenticated non-admin, for
// Dump=true on SaaS and for Backup missing from the tariff: the error envelope
// with message "Access denied" (sample 10(c) of the reference).
func ForbiddenAccessDenied() *Response {
	return errorResponse(http.StatusForbidden, errorDetail{
		Message: "Access denied",
		Type:    "ASC.Common.Security.Authorizing.AuthorizingException",
		Stack:   "   at ASC.Common.Security.Authorizing.PermissionResolver.DemandAsync(...)",
		HResult: -2146233088,
	})
}

// ForbiddenEmpty is the 403 with an empty body that an API key lacking the
// required scope gets.
func ForbiddenEmpty() *Response {
	return emptyResponse(http.StatusForbidden)
}

// PaymentRequired is the 402 for an unpaid portal: RFC 7807 ProblemDetails
// with only status and traceId (sample 10(e)).
func PaymentRequired() *Response {
	return &Response{
		Status: http.StatusPaymentRequired,
		Header: http.Header{"Content-Type": {ContentTypeProblem}},
		Body:   []byte(`{"status":402,"traceId":"` + traceID + `"}`),
	}
}

// ForbiddenProblem is the 403 ProblemDetails of DocSpace's
// TenantStatusFilter for a portal being restored, transferred or encrypted.
func ForbiddenProblem() *Response {
	return &Response{
		Status: http.StatusForbidden,
		Header: http.Header{"Content-Type": {ContentTypeProblem}},
		Body:   []byte(`{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.4","title":"Forbidden","status":403,"traceId":"` + traceID + `"}`),
	}
}

// NotFoundProblem is the 404 ProblemDetails for an unknown API path or host.
func NotFoundProblem() *Response {
	return &Response{
		Status: http.StatusNotFound,
		Header: http.Header{"Content-Type": {ContentTypeProblem}},
		Body:   []byte(`{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404,"traceId":"` + traceID + `"}`),
	}
}

// RateLimited is the 429 of the rate limiter: an empty body with Retry-After
// and X-RateLimit-* headers. X-RateLimit-Reset is a Unix timestamp 30 s ahead.
func RateLimited() *Response {
	resp := emptyResponse(http.StatusTooManyRequests)
	resp.Header.Set("Retry-After", "30")
	resp.Header.Set("X-RateLimit-Limit", "1500")
	resp.Header.Set("X-RateLimit-Remaining", "0")
	resp.Header.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10))
	return resp
}

// ServerError is a 500 error envelope for an unhandled exception, carrying
// msg and a multi-line server stack trace.
func ServerError(msg string) *Response {
	return errorResponse(http.StatusInternalServerError, errorDetail{
		Message: msg,
		Type:    "System.InvalidOperationException",
		Stack: "   at ASC.Data.Backup.Services.BackupService.GetScheduleAsync(Boolean dump)\n" +
			"   at ASC.Data.Backup.Controllers.BackupController.GetBackupSchedule(DumpDto dto)\n" +
			"   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.TaskOfIActionResultExecutor.Execute(ActionContext actionContext)",
		HResult: -2146233079,
	})
}

func nginxPage(status int) string {
	line := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return "<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" + line +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

// BadGatewayHTML is nginx's 502 HTML page (backend down).
func BadGatewayHTML() *Response {
	return htmlResponse(http.StatusBadGateway, nginxPage(http.StatusBadGateway))
}

// ServiceUnavailableHTML is nginx's 503 HTML page.
func ServiceUnavailableHTML() *Response {
	return htmlResponse(http.StatusServiceUnavailable, nginxPage(http.StatusServiceUnavailable))
}

// webClientPage is the DocSpace web client's index page, served by nginx for
// every path outside /api/2.0/.
const webClientPage = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ONLYOFFICE DocSpace</title><link rel="icon" href="/logo.ashx?logotype=3"></head><body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div><script src="/static/scripts/browserDetector.js"></script><script src="/_next/static/chunks/main.js"></script></body></html>`

// HTMLPage is the 200 text/html web-client page nginx answers with for any
// path outside /api/2.0/.
func HTMLPage() *Response {
	resp := htmlResponse(http.StatusOK, webClientPage)
	resp.Header.Set("Content-Type", "text/html; charset=utf-8")
	return resp
}

// Redirect is nginx's 301 to location, as the Docker SSL proxy sends for
// plain HTTP.
func Redirect(location string) *Response {
	resp := htmlResponse(http.StatusMovedPermanently, nginxPage(http.StatusMovedPermanently))
	resp.Header.Set("Location", location)
	return resp
}

// scheduleEnvelope is sample 10(a): the full answer for ScheduleWeekly.
const scheduleEnvelope = `{"response":` + ScheduleWeekly + `,"count":1,"links":[{"href":"` + sampleHost + PathSchedule + `","action":"GET"}],"status":0,"statusCode":200}`

// Truncated is a 200 JSON answer whose body stops in the middle of the
// envelope. Content-Length matches the short body, so only the JSON is broken.
func Truncated() *Response {
	return jsonResponse(http.StatusOK, []byte(scheduleEnvelope[:len(scheduleEnvelope)/2]))
}

// TruncatedConnection is a 200 JSON answer that announces the full envelope
// in Content-Length but sends only half of it; the server then drops the
// connection, so the client sees an unexpected EOF.
func TruncatedConnection() *Response {
	resp := Truncated()
	resp.Header.Set("Content-Length", strconv.Itoa(len(scheduleEnvelope)))
	return resp
}

// Malformed is a 200 JSON answer whose body is not valid JSON.
func Malformed() *Response {
	return jsonResponse(http.StatusOK, []byte(`{"response":{"storageType":0 "storageParams":{"folderId":"1234"},,"cronParams":{period:1}},"count":1,"status":0,"statusCode":200`))
}

// WrongTypes is a valid 200 envelope whose ScheduleDto has cronParams.hour and
// backupsStored as strings.
func WrongTypes() *Response {
	return jsonResponse(http.StatusOK, []byte(`{"response":{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":"2","day":2},"backupsStored":"7","lastBackupTime":"2026-06-29T02:07:31","dump":false},"count":1,"links":[{"href":"`+sampleHost+PathSchedule+`","action":"GET"}],"status":0,"statusCode":200}`))
}

// SettingsAnswer is a 200 answer of GET /api/2.0/settings carrying the raw
// SettingsDto JSON settingsJSON, e.g. a Windows time zone id:
// {"timezone":"W. Europe Standard Time","utcOffset":"01:00:00"}.
func SettingsAnswer(settingsJSON string) *Response {
	return jsonResponse(http.StatusOK, []byte(`{"response":`+settingsJSON+`,"count":1,"links":[{"href":"`+sampleHost+PathSettings+`","action":"GET"}],"status":0,"statusCode":200}`))
}

// StatusOneEnvelope is a 200 answer whose envelope says status 1 (error)
// although it carries a schedule.
func StatusOneEnvelope() *Response {
	return jsonResponse(http.StatusOK, []byte(`{"response":`+ScheduleWeekly+`,"count":1,"links":[{"href":"`+sampleHost+PathSchedule+`","action":"GET"}],"status":1,"statusCode":200}`))
}

// hugePrefix starts a plausible schedule envelope; the rest of a huge body is
// filler inside the folderId string.
const hugePrefix = `{"response":{"storageType":0,"storageParams":{"folderId":"`

// Huge is a 200 application/json answer that streams size bytes of a
// valid-looking but never-ending JSON document, without Content-Length
// (chunked), flushing as it goes. Writing stops early if the client goes away.
func Huge(size int) *Response {
	return &Response{
		Status:   http.StatusOK,
		Header:   http.Header{"Content-Type": {ContentTypeJSON}},
		BodyFunc: func(w io.Writer) { streamHuge(w, size) },
	}
}

// HugeWithLength is Huge with a Content-Length header of size.
func HugeWithLength(size int) *Response {
	resp := Huge(size)
	resp.Header.Set("Content-Length", strconv.Itoa(size))
	return resp
}

func streamHuge(w io.Writer, size int) {
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	prefix := hugePrefix[:min(len(hugePrefix), size)]
	if _, err := io.WriteString(w, prefix); err != nil {
		return
	}
	flush()
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = 'A'
	}
	for remaining := size - len(prefix); remaining > 0; {
		n := min(len(chunk), remaining)
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		remaining -= n
		flush()
	}
}
