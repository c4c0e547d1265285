// Package client is the transport of the calls to the ONLYOFFICE DocSpace
// REST API: the request, the key, the limits on the answer, DocSpace's
// envelope and the typed errors that say what to do. What each endpoint
// answers is the collector's. One Client serves one portal.
package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/flight"
	"github.com/docspace-exporter/docspace_exporter/internal/smallfile"
)

// MaxBodySize is the largest answer the client reads. DocSpace's backup
// answers are a few hundred bytes; anything bigger is refused.
const MaxBodySize = 1 << 20

// MaxHeaderSize is the most header bytes an answer of DocSpace may have;
// DocSpace sends about 1 KiB.
const MaxHeaderSize = 64 << 10

// Config holds the settings of one portal.
type Config struct {
	// URL is the portal root, e.g. https://portal.example.com.
	URL string
	Key KeySource
	// TLS settings for portals with their own CA.
	TLS       TLSConfig
	UserAgent string
	// Pool keeps connections alive between calls, shared among portals.
	Pool *Pool
	// CAKey is how the operator gives the portal's CA file, e.g.
	// tls.ca_file or --docspace.tls.ca-file, for the TLS advice.
	CAKey string
	// RetryAfter is the portal's Retry-After wait, which outlives the
	// client: the portal's next client, after a reload, honours it too.
	// nil for a wait of the client's own.
	RetryAfter *RetryAfter
}

// TLSConfig holds the TLS settings used to reach a portal.
type TLSConfig struct {
	// RootCAs are the CAs to trust instead of the system's (see LoadCA);
	// nil for the system's.
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool
}

// Client calls one DocSpace portal.
type Client struct {
	base      *url.URL
	key       KeySource
	userAgent string
	http      *http.Client
	// ownCA: the portal's certificate is checked against CAs given for it.
	ownCA bool
	caKey string
	calls flight.Group
	// opening is held by a call to an https:// portal until it has its
	// connection (see connect).
	opening chan struct{}
	// idle bounds the idle connections of the client's transport.
	idle *idleConns
	// retryAfter holds the calls back after a 429 or 503 with Retry-After.
	retryAfter *RetryAfter
	now        func() time.Time
}

// ParseURL checks a portal URL: absolute, http or https, with a host, and
// without user info, query or fragment; the root of the portal, not an API
// path or a page of the web client. A trailing slash is removed. Its errors
// never quote the URL, which could hold a credential by mistake.
func ParseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") { // portal.example.com, 127.0.0.1:8443
		return nil, errMustStartWithScheme
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL; give the portal root, e.g. https://portal.example.com")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errMustStartWithScheme
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("has no host; give the portal root, e.g. https://portal.example.com")
	case u.User != nil:
		return nil, errors.New("must not contain a user name or password; the API key goes in a key file")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errors.New("must not have a query or fragment; give the portal root, e.g. https://portal.example.com")
	}
	for seg := range strings.SplitSeq(strings.ToLower(u.Path), "/") {
		switch {
		case seg == "api":
			return nil, errors.New("drop /api/2.0: give the portal root, e.g. https://portal.example.com; the API paths are added to it")
		case webClientPages[seg]:
			return nil, fmt.Errorf("is a page of the DocSpace web client (/%s/...), not the portal root: give the address up to the host name, e.g. https://portal.example.com", seg)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

var errMustStartWithScheme = errors.New("must start with https:// (or http://), e.g. https://portal.example.com")

// webClientPages are the first path segments of the DocSpace web client's
// pages, as a browser shows them (https://portal.example.com/rooms/shared).
// A portal root never holds one: under them the API answers HTML.
var webClientPages = map[string]bool{
	"rooms": true, "files": true, "accounts": true, "portal-settings": true, "settings": true,
	"doceditor": true, "login": true, "products": true, "profile": true, "form-gallery": true, "developer-tools": true,
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	base, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("portal URL %w", err)
	}
	if cfg.Key == nil {
		return nil, errors.New("no API key source")
	}
	if cfg.Pool == nil {
		return nil, errors.New("no connection pool")
	}
	t := cfg.Pool.transport(cfg.TLS)
	return &Client{
		base:       base,
		idle:       t.idle,
		key:        cfg.Key,
		userAgent:  cfg.UserAgent,
		ownCA:      cfg.TLS.RootCAs != nil,
		caKey:      cmp.Or(cfg.CAKey, "tls.ca_file"),
		retryAfter: cmp.Or(cfg.RetryAfter, new(RetryAfter)),
		opening:    make(chan struct{}, 1),
		now:        time.Now,
		http: &http.Client{
			Transport: t,
			// Redirects are never followed, so the key is never sent to
			// another address; a 3xx is reported as an error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// MaxCAFileSize is the largest CA file read; a system's whole CA bundle is
// a few hundred KiB.
const MaxCAFileSize = 4 << 20

// LoadCA reads a PEM file of CA certificates into a pool. The file must be
// a regular file of at most MaxCAFileSize.
func LoadCA(path string) (*x509.CertPool, error) {
	pem, err := smallfile.Read(path, MaxCAFileSize)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA file %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", smallfile.Name(path))
	}
	return pool, nil
}

// envelope is DocSpace's answer wrapper; T is the type of its response.
type envelope[T any] struct {
	Response   *T        `json:"response"`
	Status     *int      `json:"status"`
	StatusCode *int      `json:"statusCode"`
	Error      *apiError `json:"error"`
}

// apiError is the error of DocSpace's error envelope. Only the message is
// read: the stack trace is never decoded.
type apiError struct {
	Message string `json:"message"`
}

// decodeFunc checks and decodes one complete answer.
type decodeFunc func(status int, header http.Header, body []byte) (any, error)

// Get calls path with query and decodes the answer's response value into a
// *T; nil when the answer has none. Concurrent calls of the same path and
// query share one request (see flight.Group), which each caller waits for no longer
// than its ctx. While the portal's Retry-After has not passed, Get fails at
// once without a call.
func Get[T any](ctx context.Context, c *Client, path, query string) (*T, error) {
	return get[T](ctx, c, path, query, MaxBodySize)
}

// GetUpTo is Get for an endpoint whose answer may be longer than
// MaxBodySize, up to limit bytes, such as a long list of stored backups. It
// is for a call its caller makes alone (the history's background refresh,
// one per portal): the request runs in the caller's goroutine, shared with
// no one, so a call in flight holds no goroutine of the exporter's beyond
// its caller's.
func GetUpTo[T any](ctx context.Context, c *Client, path, query string, limit int64) (*T, error) {
	if err := c.retryAfter.check(path, c.now()); err != nil {
		return nil, err
	}
	v, err := c.do(ctx, path, query, limit, decoder[T](path))
	if err != nil {
		return nil, err
	}
	return v.(*T), nil
}

// get is Get: the call of path and query is shared by concurrent callers.
func get[T any](ctx context.Context, c *Client, path, query string, limit int64) (*T, error) {
	if err := c.retryAfter.check(path, c.now()); err != nil {
		return nil, err
	}
	v, err := c.calls.Do(ctx, path+"?"+query, func(callCtx context.Context) (any, error) {
		return c.do(callCtx, path, query, limit, decoder[T](path))
	})
	switch {
	case err == nil:
		return v.(*T), nil
	case err == ctx.Err(): // the caller left: c.do's errors are *Error
		return nil, &Error{Kind: KindTimeout, Endpoint: path,
			Detail: "no answer before the scrape deadline: the portal is slow or hung; check it, or raise the scrape timeout or the portal's timeout",
			Err:    ctx.Err()}
	}
	return nil, err
}

// decoder decodes the response value of path's answers into a *T.
func decoder[T any](path string) decodeFunc {
	return func(status int, header http.Header, body []byte) (any, error) {
		return decodeAnswer[T](path, status, header, body)
	}
}

func (c *Client) do(ctx context.Context, path, query string, limit int64, decode decodeFunc) (any, error) {
	fail := func(kind Kind, status int, detail string, err error) (any, error) {
		return nil, &Error{Kind: kind, Endpoint: path, StatusCode: status, Detail: detail, Err: err}
	}
	key, err := c.key.Key()
	if err != nil {
		return fail(KindKey, 0, "no usable API key", err)
	}
	release, err := c.connect(ctx)
	if err != nil {
		return fail(KindTimeout, 0, transportDetail(err, c.ownCA, c.caKey), err)
	}
	defer release()
	done := func() {} // the call is done with its connection
	defer func() { done() }()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		release()
		done = c.idle.use(info.Conn)
	}})
	u := *c.base
	u.Path += path
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(KindNetwork, 0, "cannot build the request", err)
	}
	req.Header.Set("Authorization", authorization(key))
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req)
	release()
	if err != nil && headersTooLarge.MatchString(err.Error()) {
		// net/http gives this error no type of its own.
		return fail(KindTooLarge, 0, fmt.Sprintf(
			"the portal's answer headers are over %d KiB: this is not a DocSpace answer; check the portal URL and any proxy in front of the portal", MaxHeaderSize>>10), nil)
	}
	if err != nil {
		return fail(transportKind(err), 0, transportDetail(err, c.ownCA, c.caKey), stripURL(err))
	}
	defer resp.Body.Close()
	c.retryAfter.set(resp.StatusCode, resp.Header, c.now())

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		target := "an unknown place"
		if loc, err := resp.Location(); err == nil {
			target = loc.Scheme + "://" + loc.Host
		}
		return fail(KindRedirect, resp.StatusCode, fmt.Sprintf(
			"HTTP %d redirect to %s, not followed so the key is not sent elsewhere: give the portal's final https:// address as its URL", resp.StatusCode, target), nil)
	}
	if resp.ContentLength > limit {
		return fail(KindTooLarge, resp.StatusCode, fmt.Sprintf(
			"HTTP %d with a %d-byte body, over the %d-byte limit: this is not a DocSpace backup answer; check the portal URL", resp.StatusCode, resp.ContentLength, limit), nil)
	}
	size := int64(4096)
	if resp.ContentLength >= 0 {
		size = resp.ContentLength + bytes.MinRead
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	body := buf.Bytes()
	if err != nil {
		if ctx.Err() != nil {
			return fail(KindTimeout, resp.StatusCode, "the answer did not arrive before the deadline", ctx.Err())
		}
		return fail(KindNetwork, resp.StatusCode, "reading the answer failed", stripURL(err))
	}
	if int64(len(body)) > limit {
		return fail(KindTooLarge, resp.StatusCode, fmt.Sprintf(
			"HTTP %d with a body over the %d-byte limit: this is not a DocSpace backup answer; check the portal URL", resp.StatusCode, limit), nil)
	}
	return decode(resp.StatusCode, resp.Header, body)
}

// connect waits until no other call of c to an https:// portal is opening
// a connection, and returns the function that lets the next call go once
// this one has its connection. Calls made at once, as a scrape's are, so
// share one connection when the portal speaks HTTP/2, rather than each
// opening its own, with a TLS handshake, of which all but one are closed
// (net/http learns the protocol only from a connection); to a portal of
// HTTP/1.1 the call waits no longer than the other's handshake.
func (c *Client) connect(ctx context.Context) (release func(), err error) {
	if c.base.Scheme != "https" {
		return func() {}, nil
	}
	select {
	case c.opening <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return sync.OnceFunc(func() { <-c.opening }), nil
}

// headersTooLarge matches the errors of an answer whose headers are over
// MaxHeaderSize, which net/http gives no type of their own: HTTP/1.1's,
// and HTTP/2's, which stops reading a header block past the limit as a
// compression error (one header over it) or a protocol error (the block
// goes on past it); a proxy that breaks HTTP/2 otherwise gets the same
// advice.
var headersTooLarge = regexp.MustCompile(`server response headers exceeded|response header list larger than advertised limit|connection error: (COMPRESSION|PROTOCOL)_ERROR`)

// decodeAnswer checks a complete answer of DocSpace and returns the
// envelope's response value; nil when it is absent or null.
func decodeAnswer[T any](path string, status int, header http.Header, body []byte) (*T, error) {
	fail := func(kind Kind, detail string, err error) (*T, error) {
		return nil, &Error{Kind: kind, Endpoint: path, StatusCode: status, Detail: detail, Err: err}
	}
	if status != http.StatusOK {
		return nil, statusError(path, status, header, body)
	}
	if !isJSON(header.Get("Content-Type")) {
		return fail(KindNotJSON, fmt.Sprintf(
			"the answer is not JSON (Content-Type %q): the portal URL must be the portal root, e.g. https://portal.example.com, not a page of the web client",
			mediaType(header.Get("Content-Type"))), nil)
	}
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return fail(KindMalformed, "the answer is not a valid DocSpace API answer", jsonError(err))
	}
	if env.Status == nil {
		return fail(KindMalformed, "the answer is JSON but not a DocSpace API answer (no status field): check the portal URL", nil)
	}
	if *env.Status != 0 {
		return fail(KindAPIError, fmt.Sprintf("DocSpace reported an error: the envelope's status is %d, not 0%s", *env.Status, envelopeMessage(env.Error)), nil)
	}
	return env.Response, nil
}

// statusError turns a non-200 answer into an Error that says what to do.
func statusError(path string, code int, header http.Header, body []byte) error {
	msg := ""
	if isJSON(header.Get("Content-Type")) {
		var env struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(body, &env) == nil {
			msg = envelopeMessage(env.Error)
		}
	}
	fail := func(kind Kind, detail string) error {
		return &Error{Kind: kind, Endpoint: path, StatusCode: code, Detail: detail}
	}
	switch {
	case code == http.StatusUnauthorized:
		return fail(KindUnauthorized, "HTTP 401: DocSpace rejected the API key; check that it is valid, not expired or revoked, and made on this portal")
	case code == http.StatusPaymentRequired:
		return fail(KindPaymentRequired, "HTTP 402"+msg+": the portal is unpaid or its license has expired, or the tariff does not include backups")
	case code == http.StatusForbidden:
		return fail(KindForbidden, "HTTP 403"+msg+": the key's creator must be the portal owner or a DocSpace admin and the key needs the *:read scope; "+
			"the tariff may lack backups, the portal may be being restored, and on SaaS the dump schedule is not available")
	case code == http.StatusNotFound:
		return fail(KindNotFound, "HTTP 404"+msg+": check that the portal URL is the root of an existing, active portal")
	case code == http.StatusTooManyRequests:
		return fail(KindRateLimited, "HTTP 429: DocSpace is rate limiting this key"+retryAfterNote(header)+
			"; scrape less often or give the exporter its own key")
	case code >= 500:
		note := ""
		if code == http.StatusServiceUnavailable {
			note = retryAfterNote(header)
		}
		return fail(KindServerError, fmt.Sprintf("HTTP %d%s%s: the portal has a server-side problem; check the DocSpace services", code, msg, note))
	}
	if code == http.StatusBadRequest && plainHTTPToTLS.Match(body) {
		return fail(KindHTTPStatus, "HTTP 400: the portal answers HTTPS on this port, not plain HTTP: use https:// in the portal URL")
	}
	return fail(KindHTTPStatus, fmt.Sprintf("unexpected HTTP %d%s", code, msg))
}

// plainHTTPToTLS matches the answer of a TLS port to a plain HTTP request:
// Go's and nginx's.
var plainHTTPToTLS = regexp.MustCompile(`HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port`)

// envelopeMessage returns ` ("message")` from a DocSpace error envelope, or "".
func envelopeMessage(e *apiError) string {
	if e == nil || e.Message == "" {
		return ""
	}
	m := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, e.Message)
	if r := []rune(m); len(r) > 200 {
		m = string(r[:200]) + "..."
	}
	return fmt.Sprintf(" (%q)", m)
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType
	}
	return mt
}

func isJSON(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// transportKind classifies an error from http.Client.Do.
func transportKind(err error) Kind {
	netErr, isNet := errors.AsType[net.Error](err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return KindTimeout
	case isA[*tls.CertificateVerificationError](err), isA[x509.UnknownAuthorityError](err), isA[x509.HostnameError](err),
		isA[x509.CertificateInvalidError](err), isA[tls.AlertError](err), plainHTTP(err):
		return KindTLS
	case isNet && netErr.Timeout():
		return KindTimeout
	}
	return KindNetwork
}

// plainHTTP tells whether err is an https:// call answered in plain HTTP.
// net/http gives this error no type of its own.
func plainHTTP(err error) bool {
	return isA[tls.RecordHeaderError](err) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// isA tells whether err or an error it wraps is a T.
func isA[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// transportDetail says what to do about an error from http.Client.Do;
// ownCA tells whether CAs were given for the portal, and caKey how they
// are given.
func transportDetail(err error, ownCA bool, caKey string) string {
	invalid, isInvalid := errors.AsType[x509.CertificateInvalidError](err)
	switch kind := transportKind(err); {
	case kind == KindTimeout:
		return "no answer before the deadline: the portal is slow or hung; check it, or raise the scrape timeout or the portal's timeout"
	case isA[x509.UnknownAuthorityError](err) && ownCA:
		return "TLS: the CA file given for this portal does not sign the portal's certificate: give the CA file of the CA that issued it (" + caKey + ")"
	case isA[x509.UnknownAuthorityError](err):
		return "TLS: the portal's certificate is not signed by a CA this system trusts: for a portal with its own CA give its CA file (" + caKey + ")"
	case isA[x509.HostnameError](err):
		return "TLS: the portal's certificate is not valid for its host name: use the host name the certificate was issued for in the portal URL"
	case isInvalid && invalid.Reason == x509.Expired:
		return "TLS: the portal's certificate has expired or is not valid yet: renew it, or check this host's clock"
	case plainHTTP(err):
		return "the portal answers plain HTTP, not HTTPS, on this port: check the port, or use http:// (only on loopback: the key would go unencrypted)"
	case kind == KindTLS && !ownCA:
		return "TLS handshake failed: check the portal's certificate; for a portal with its own CA give its CA file (" + caKey + ")"
	case kind == KindTLS:
		return "TLS handshake failed: check the portal's certificate and the CA file given for it (" + caKey + ")"
	}
	return "cannot reach the portal: check the portal URL, DNS, proxy settings and that DocSpace is running"
}

// stripURL removes net/http's "Get \"<url>\": " wrapper: the URL is already
// known to the operator and shortens nothing useful.
func stripURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// jsonError describes a JSON decoding error without quoting the body.
func jsonError(err error) error {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		if strings.Contains(syn.Error(), "unexpected end") {
			return errors.New("the JSON is truncated")
		}
		if strings.Contains(syn.Error(), "exceeded max depth") {
			return fmt.Errorf("the JSON is nested too deep at byte %d", syn.Offset)
		}
		return fmt.Errorf("invalid JSON at byte %d", syn.Offset)
	}
	if typ, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		got, _, _ := strings.Cut(typ.Value, " ")
		if typ.Field == "" {
			return fmt.Errorf("a JSON %s where %s was expected", got, typ.Type)
		}
		return fmt.Errorf("field %s is a JSON %s, want %s", typ.Field, got, typ.Type)
	}
	return err
}
