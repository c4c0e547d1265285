package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// fuzzObject has the kinds of fields the collector decodes from an
// answer's response object: pointers to numbers, strings and booleans, a
// nested object, and plain values.
type fuzzObject struct {
	StorageType *int `json:"storageType"`
	CronParams  *struct {
		Period *int `json:"period"`
		Hour   *int `json:"hour"`
		Day    *int `json:"day"`
	} `json:"cronParams"`
	BackupsStored  *int    `json:"backupsStored"`
	LastBackupTime *string `json:"lastBackupTime"`
	Dump           *bool   `json:"dump"`
	IsCompleted    bool    `json:"isCompleted"`
	Progress       int     `json:"progress"`
	Error          string  `json:"error"`
	Timezone       *string `json:"timezone"`
	UTCOffset      *string `json:"utcOffset"`
}

// fuzzRecord is a record of a list answer, as the stored-backup history is.
type fuzzRecord struct {
	CreatedOn *string `json:"createdOn"`
}

// FuzzDecodeAnswer feeds arbitrary answers through the decoding every
// DocSpace answer takes: into any JSON value, into an object and into a
// list of records. It must never panic, an error must be an *Error with a
// kind and never carry a storageParams secret, and the date-times decoded
// must parse or fail cleanly.
func FuzzDecodeAnswer(f *testing.F) {
	for _, a := range docspacetest.AnswerSeeds() {
		f.Add(a.Status, a.ContentType, a.Body)
	}

	const path = "/api/2.0/backup/getbackupschedule"
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		h := http.Header{"Content-Type": {contentType}}
		raw, err := decodeAnswer[json.RawMessage](path, status, h, []byte(body))
		check(t, err, contentType)
		if err == nil && raw != nil && !json.Valid(*raw) {
			t.Errorf("the response value %q is not JSON", *raw)
		}
		obj, err := decodeAnswer[fuzzObject](path, status, h, []byte(body))
		check(t, err, contentType)
		if err == nil && obj != nil && obj.LastBackupTime != nil {
			parsed(t, *obj.LastBackupTime)
		}
		records, err := decodeAnswer[[]fuzzRecord](path, status, h, []byte(body))
		check(t, err, contentType)
		if err == nil && records != nil {
			for _, r := range *records {
				if r.CreatedOn != nil {
					parsed(t, *r.CreatedOn)
				}
			}
		}
	})
}

// parsed checks that a date-time parses to UTC, or fails.
func parsed(t *testing.T, s string) {
	t.Helper()
	if v, err := ParseDateTime(s); err == nil && v.Location() != time.UTC {
		t.Errorf("ParseDateTime(%q) = %v, not in UTC", s, v)
	}
}

func check(t *testing.T, err error, contentType string) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %v is not an *Error", err)
	} else if e.Kind == 0 {
		t.Errorf("error without a kind: %v", err)
	}
	for _, s := range docspacetest.S3SecretValues {
		if strings.Contains(err.Error(), s) && !strings.Contains(contentType, s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}
