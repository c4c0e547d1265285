package config

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// strictUnknownKeys returns the unknown keys the YAML decoder reports with
// KnownFields when it decodes data into a Config, sorted.
func strictUnknownKeys(data []byte) []string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var got []string
	if te, ok := errors.AsType[*yaml.TypeError](dec.Decode(new(Config))); ok {
		for _, msg := range te.Errors {
			if unknownField.MatchString(msg) {
				got = append(got, msg)
			}
		}
	}
	slices.Sort(got)
	return got
}

// ownUnknownKeys returns what unknownKeys finds in data, sorted.
func ownUnknownKeys(data []byte) []string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return nil
	}
	var got []string
	budget := maxKeyVisits
	unknownKeys(&root, reflect.TypeFor[Config](), &got, &budget)
	slices.Sort(got)
	return got
}

// Parse reads the file's text once and finds the unknown keys itself: it
// must find exactly those the decoder's KnownFields finds.
func TestUnknownKeysAsTheDecoder(t *testing.T) {
	for _, doc := range []string{
		"portals:\n  - name: a\n    urll: https://x\n    tls: {ca: x, ca_file: y}\nextra: 1\n",
		// a duplicate key: the decoder skips the whole mapping
		"portals:\n  - name: a\n    name: b\n    nope: 1\n  - name: c\n    nope: 2\n",
		// merge keys: the mapping's own keys win, the rest are checked
		"base: &b {url: https://x, wrong: 1, tls: {bad: 1}}\nportals:\n  - <<: *b\n    name: a\n    wrong: 2\n",
		"portals:\n  - <<: [{a: 1}, {b: 2, name: x}]\n    name: m\n",
		"portals:\n  - <<: {<<: {deep: 1}, url: u}\n    name: m\n",
		// aliases: checked at every use, as the decoder does
		"portals:\n  - &p {name: a, oops: 1}\n  - *p\n",
		"portals: &l [{name: a, x: 1}]\nother: *l\n",
		// keys that are no scalar, labels (a map: any key), non-mapping portals
		"portals:\n  - {name: a, [1]: 2, {k: v}: 3, labels: {anything: goes}}\n  - 7\n  - [name]\n",
		"portals: {name: a}\n", "- a\n", "a: 1\nb: 2\n",
	} {
		want, got := strictUnknownKeys([]byte(doc)), ownUnknownKeys([]byte(doc))
		if !slices.Equal(got, want) {
			t.Errorf("%s\n got %q\nwant %q", doc, got, want)
		}
		if strings.Contains(doc, "oops") && len(got) != 2 {
			t.Errorf("%s: want the aliased portal's unknown key twice, got %q", doc, got)
		}
	}
}

// FuzzUnknownKeys checks unknownKeys against the decoder on arbitrary files.
func FuzzUnknownKeys(f *testing.F) {
	f.Add([]byte("portals:\n  - <<: {x: 1, name: a}\n    name: b\n    tls: {y: 2}\n"))
	f.Add([]byte("portals:\n  - &p {name: a, z: 1}\n  - *p\n  - {name: a, name: b, q: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil || root.Decode(new(Config)) != nil && !isTypeError(root.Decode(new(Config))) {
			return // the decoder stops before it looks at keys
		}
		if want, got := strictUnknownKeys(data), ownUnknownKeys(data); !slices.Equal(got, want) {
			t.Errorf("%q\n got %q\nwant %q", data, got, want)
		}
	})
}

func isTypeError(err error) bool {
	_, ok := errors.AsType[*yaml.TypeError](err)
	return ok
}
