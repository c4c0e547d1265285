package client

import (
	"errors"
	"fmt"
	"strings"
)

// Kind tells apart the ways a call to DocSpace can fail, so that callers can
// react to each (and tests can assert on them) without matching on text.
type Kind int

const (
	// KindNetwork: no HTTP response (connection refused, DNS, reset).
	KindNetwork Kind = iota + 1
	// KindTLS: the TLS handshake failed (unknown CA, wrong host name, ...).
	KindTLS
	// KindTimeout: the deadline passed before DocSpace answered.
	KindTimeout
	// KindKey: the API key could not be read.
	KindKey
	// KindRedirect: DocSpace answered with a 3xx; redirects are never followed.
	KindRedirect
	// KindUnauthorized: HTTP 401, the key was rejected.
	KindUnauthorized
	// KindPaymentRequired: HTTP 402, the portal is unpaid or the tariff lacks backups.
	KindPaymentRequired
	// KindForbidden: HTTP 403, the key's user lacks rights or scope.
	KindForbidden
	// KindNotFound: HTTP 404, wrong URL or unknown portal.
	KindNotFound
	// KindRateLimited: HTTP 429.
	KindRateLimited
	// KindServerError: HTTP 5xx.
	KindServerError
	// KindHTTPStatus: any other unexpected HTTP status.
	KindHTTPStatus
	// KindTooLarge: the body is larger than MaxBodySize, or the headers
	// than MaxHeaderSize.
	KindTooLarge
	// KindNotJSON: the body is not JSON (usually an HTML page).
	KindNotJSON
	// KindMalformed: the body is JSON but not a valid DocSpace API answer.
	KindMalformed
	// KindAPIError: a DocSpace envelope that reports an error (status 1).
	KindAPIError
)

var kindNames = map[Kind]string{
	KindNetwork:         "network",
	KindTLS:             "tls",
	KindTimeout:         "timeout",
	KindKey:             "key",
	KindRedirect:        "redirect",
	KindUnauthorized:    "unauthorized",
	KindPaymentRequired: "payment_required",
	KindForbidden:       "forbidden",
	KindNotFound:        "not_found",
	KindRateLimited:     "rate_limited",
	KindServerError:     "server_error",
	KindHTTPStatus:      "http_status",
	KindTooLarge:        "too_large",
	KindNotJSON:         "not_json",
	KindMalformed:       "malformed",
	KindAPIError:        "api_error",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error every Client method returns. Its text says what went
// wrong and what the operator can do about it. It never holds the API key, a
// response body, a server stack trace or anything from storageParams.
type Error struct {
	Kind Kind
	// Endpoint is the API path that was called, e.g. "/api/2.0/backup/getbackupschedule".
	Endpoint string
	// StatusCode is the HTTP status, 0 when there was no response.
	StatusCode int
	// Detail is the safe, human-readable reason including advice.
	Detail string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	b.WriteString(e.Detail)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status carried by err, 200 for a nil error and
// 0 when the call got no HTTP response.
func StatusCode(err error) int {
	if err == nil {
		return 200
	}
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}
