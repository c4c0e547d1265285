package client

import (
	"errors"
	"fmt"
)

// Kind tells apart the ways a call to DocSpace can fail, so that callers can
// react to each (and tests can assert on them) without matching on text.
type Kind int

const (
	KindNetwork         Kind = iota + 1 // no HTTP response (connection refused, DNS, reset)
	KindTLS                             // the TLS handshake failed (unknown CA, wrong host name, ...)
	KindTimeout                         // the deadline passed before DocSpace answered
	KindKey                             // the API key could not be read
	KindRedirect                        // DocSpace answered with a 3xx; redirects are never followed
	KindUnauthorized                    // HTTP 401, the key was rejected
	KindPaymentRequired                 // HTTP 402, the portal is unpaid or the tariff lacks backups
	KindForbidden                       // HTTP 403, the key's user lacks rights or scope
	KindNotFound                        // HTTP 404, wrong URL or unknown portal
	KindRateLimited                     // HTTP 429
	KindServerError                     // HTTP 5xx
	KindHTTPStatus                      // any other unexpected HTTP status
	KindTooLarge                        // the body is over MaxBodySize, or the headers MaxHeaderSize
	KindNotJSON                         // the body is not JSON (usually an HTML page)
	KindMalformed                       // the body is JSON but not a valid DocSpace API answer
	KindAPIError                        // a DocSpace envelope that reports an error (a status other than 0)
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
	if e.Err != nil {
		return e.Endpoint + ": " + e.Detail + ": " + e.Err.Error()
	}
	return e.Endpoint + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status carried by err, 200 for a nil error and
// 0 when the call got no HTTP response.
func StatusCode(err error) int {
	if err == nil {
		return 200
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.StatusCode
	}
	return 0
}
