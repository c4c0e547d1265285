// Package config reads the exporter's configuration file (--config.file),
// which lists the DocSpace portals the exporter can probe, and keeps the
// current configuration across reloads (see Holder).
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone must work on hosts and images without a zoneinfo database
	"unicode"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/smallfile"
)

// MaxTimeout is the longest timeout a portal may set.
const MaxTimeout = 5 * time.Minute

// MinHistoryInterval is the shortest history interval a portal may set
// other than 0 (off): each call checks every stored backup in the storage.
const MinHistoryInterval = time.Minute

// Config is the content of the configuration file.
type Config struct {
	// Portals are the DocSpace portals, each chosen by its name with
	// /probe?target=<name>.
	Portals []Portal `yaml:"portals"`
}

// Portal is one DocSpace portal: what scraping it takes, given either as an
// entry of the configuration file or, for the portal named by the
// exporter's flags, built from those. It holds no secret: the API key stays
// in the file or environment variable it names.
type Portal struct {
	// Name selects the portal in /probe?target=<name> and in logs.
	Name string `yaml:"name"`
	// URL is the portal root, e.g. https://portal.example.com.
	URL string `yaml:"url"`
	// APIKeyFile is a file holding the API key; it is read for every call
	// to DocSpace. In the configuration file a relative path is relative
	// to the file's folder. Exactly one of APIKeyFile and APIKeyEnv is set.
	APIKeyFile string `yaml:"api_key_file"`
	// APIKeyEnv is the name of an environment variable holding the API key.
	APIKeyEnv string `yaml:"api_key_env"`
	Dump      bool   `yaml:"dump"` // the dump-based, server-wide backup schedule
	// Timezone is an IANA name such as Europe/Berlin; "": the portal's own.
	Timezone string `yaml:"timezone"`
	// Timeout is the most one scrape of the portal spends on DocSpace, e.g.
	// 15s; 0 in the file means the exporter's --docspace.timeout.
	Timeout time.Duration `yaml:"timeout"`
	TLS     TLS           `yaml:"tls"`
	// HistoryInterval is how often getbackuphistory is read, e.g. 1h; 0 turns
	// it off; left out, it is the exporter's --docspace.history-interval.
	HistoryInterval time.Duration `yaml:"history_interval"`
	// Labels are target labels for the portal's series, e.g. {env: prod}:
	// the discovery endpoint hands them to Prometheus with the portal.
	Labels map[string]string `yaml:"labels"`

	origin *origin // where the settings were given, for messages
}

// TLS holds the TLS settings of a portal.
type TLS struct {
	// CAFile is a PEM file of the CA certificates to trust instead of the
	// system's; a relative path is relative to the configuration file.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// The settings of a portal, as named in messages by Portal.Errorf: the keys
// of the configuration file.
const (
	FieldName       = "name"
	FieldURL        = "url"
	FieldAPIKeyFile = "api_key_file"
	FieldAPIKeyEnv  = "api_key_env"
	FieldDump       = "dump"
	FieldTimezone   = "timezone"
	FieldTimeout    = "timeout"
	FieldCAFile     = "tls.ca_file"
	FieldInsecure   = "tls.insecure_skip_verify"
	FieldLabels     = "labels"

	FieldHistoryInterval = "history_interval"
)

// origin is where a portal's settings were given: an entry of the
// configuration file, or the exporter's flags.
type origin struct {
	// file and label locate an entry of the configuration file; lines
	// holds the line of each key written in it.
	file  string
	label string
	line  int
	lines map[string]int
	// flags names each setting given by a flag or environment variable.
	flags map[string]string
	// typeErrors holds the keys of the entry whose values could not be
	// decoded; they are reported as such and not checked again.
	typeErrors map[string]bool
}

// FromFlags returns p as the portal given by the exporter's flags. names
// maps each Field to the flag or environment variable that sets it (e.g.
// "--docspace.url"), so that messages name what the operator typed.
func FromFlags(p Portal, names map[string]string) Portal {
	p.origin = &origin{flags: names}
	return p
}

// Defaults are the settings an entry of the configuration file, or the
// portal of the flags, may leave out: the exporter's --docspace.timeout and
// --docspace.history-interval.
type Defaults struct {
	Timeout, HistoryInterval time.Duration
}

// WithDefaults returns p with the settings it leaves out taken from d.
func (p Portal) WithDefaults(d Defaults) Portal {
	p.Timeout = cmp.Or(p.Timeout, d.Timeout)
	if !p.Gives(FieldHistoryInterval) {
		p.HistoryInterval = d.HistoryInterval
	}
	return p
}

// Gives tells whether the portal's settings give field themselves: the key
// is written in its entry of the file, or a flag of the portal of the flags
// sets it (an unset flag gives its default).
func (p *Portal) Gives(field string) bool {
	return p.origin.has(field)
}

// Key returns how the operator writes field for this portal: the key of the
// configuration file, or the flag.
func (p *Portal) Key(field string) string {
	if p.origin != nil && p.origin.flags != nil {
		if name, ok := p.origin.flags[field]; ok {
			return name
		}
	}
	return field
}

// Source says where the portal was configured, for logs: "file:line" of
// its entry, or the flag that gives its URL.
func (p *Portal) Source() string {
	switch o := p.origin; {
	case o == nil:
		return ""
	case o.flags != nil:
		return p.Key(FieldURL)
	default:
		return fmt.Sprintf("%s:%d", o.file, o.line)
	}
}

// Errorf returns an error about field ("" for the portal as a whole) that
// says where it was configured: "file:line: portal "name": field: ..." or
// "--flag: ...". The message must hold no secret.
func (p *Portal) Errorf(field, format string, a ...any) error {
	msg := fmt.Errorf(format, a...)
	if field != "" {
		msg = fmt.Errorf("%s: %w", p.Key(field), msg)
	}
	o := p.origin
	if o == nil || o.flags != nil {
		return msg
	}
	return fmt.Errorf("%s:%d: %s: %w", o.file, cmp.Or(o.lines[field], o.line), o.label, msg)
}

var (
	validName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Check returns every problem of the portal's settings, each located with
// Errorf. It reads no file: the key and CA files are read when the portal
// is built. No message shows a value that looks like an API key.
func (p *Portal) Check() error {
	var errs []error
	report := func(field, format string, a ...any) {
		if !p.origin.typeError(field) {
			errs = append(errs, p.Errorf(field, format, a...))
		}
	}
	switch _, err := client.ParseURL(p.URL); {
	case p.URL == "":
		report(FieldURL, "is missing: give the portal root, e.g. https://portal.example.com")
	case err != nil:
		report(FieldURL, "%w", err)
	case LooksLikeKey(p.URL):
		// Its host is shown in logs, pages and /discovery.
		report(FieldURL, "holds what looks like an API key (not shown): give the portal's address, and the key in a key file")
	}
	switch {
	case p.APIKeyFile != "" && p.APIKeyEnv != "":
		report(FieldAPIKeyFile, "and %s are both set: keep only one", p.Key(FieldAPIKeyEnv))
	case p.APIKeyFile != "":
		if LooksLikeKey(p.APIKeyFile) {
			report(FieldAPIKeyFile, "this looks like an API key, not a file path: put the key in a file and give the file's path")
		}
	case p.APIKeyEnv != "":
		if !validEnvName.MatchString(p.APIKeyEnv) || LooksLikeKey(p.APIKeyEnv) {
			report(FieldAPIKeyEnv, "must be the name of an environment variable holding the API key (letters, digits and _), not the key itself")
		}
	case !p.origin.typeError(FieldAPIKeyFile) && !p.origin.typeError(FieldAPIKeyEnv) && !p.origin.typeError("api_key"):
		report("", "no API key: give a file holding it (%s) or an environment variable holding it (%s)",
			p.Key(FieldAPIKeyFile), p.Key(FieldAPIKeyEnv))
	}
	if LooksLikeKey(p.TLS.CAFile) {
		report(FieldCAFile, "this looks like an API key, not a file path: give the path of a PEM file of CA certificates")
	}
	if LooksLikeKey(p.Timezone) {
		report(FieldTimezone, "this looks like an API key, not a time zone: use an IANA name such as Europe/Berlin or UTC")
	} else if _, err := p.Location(); err != nil {
		report(FieldTimezone, "%w", err)
	}
	// Left out, they are the defaults, checked once as the flags that
	// give them.
	if err := CheckTimeout(p.Timeout); err != nil && (p.Timeout != 0 || p.Gives(FieldTimeout)) {
		report(FieldTimeout, "%w", err)
	}
	if err := CheckHistoryInterval(p.HistoryInterval); err != nil {
		report(FieldHistoryInterval, "%w", err)
	}
	return errors.Join(append(errs, p.checkLabels()...)...)
}

// reservedLabels are the label names a portal's labels may not use, and why.
var reservedLabels = map[string]string{
	"job":      "is the name of the scrape job, set in Prometheus' configuration",
	"instance": "is set to the portal's name by the exporter",
}

// metricLabels are the labels of the exporter's metrics: a target label of
// the same name would rename theirs to exported_<name>.
var metricLabels = map[string]bool{}

// ReserveMetricLabels reserves the labels of one of the exporter's metrics,
// so that no portal's labels use them. The collector calls it as it
// describes its metrics, when the program starts.
func ReserveMetricLabels(names ...string) {
	for _, n := range names {
		metricLabels[n] = true
	}
}

// checkLabels returns the problems of the portal's labels: names as
// Prometheus allows them, none reserved, values non-empty UTF-8, and
// nothing that looks like an API key, which would become a label of every
// series (and is then never shown in the message).
func (p *Portal) checkLabels() []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(p.Labels)) {
		field := FieldLabels + "." + name
		value := p.Labels[name]
		reason, reserved := reservedLabels[name]
		if metricLabels[name] {
			reason, reserved = "is a label of the exporter's metrics", true
		}
		switch {
		case LooksLikeKey(name) || LooksLikeKey(value):
			errs = append(errs, p.Errorf(FieldLabels, "a label looks like an API key (not shown): a label goes on every series of the portal; never put a key in one"))
		case !model.LegacyValidation.IsValidLabelName(name):
			errs = append(errs, p.Errorf(field, "%q is not a valid label name: use letters, digits and _, not starting with a digit", name))
		case strings.HasPrefix(name, "__"):
			errs = append(errs, p.Errorf(field, "label names starting with __ are reserved for Prometheus' own use"))
		case reserved:
			errs = append(errs, p.Errorf(field, "%s: choose another label name", reason))
		case value == "":
			errs = append(errs, p.Errorf(field, "is empty: a label with an empty value is no label; leave it out"))
		case !model.LabelValue(value).IsValid():
			errs = append(errs, p.Errorf(field, "is not valid UTF-8"))
		}
	}
	return errs
}

// Warnings returns what in the portal's settings works but is unsafe, each
// located with Errorf: the key sent unencrypted, certificates not
// verified, or a key file that others may read. The settings must have passed Check.
func (p *Portal) Warnings() []error {
	var warnings []error
	if u, err := client.ParseURL(p.URL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		warnings = append(warnings, p.Errorf(FieldURL, "%s://%s is plain http: the API key is sent unencrypted over the network; use https://", u.Scheme, u.Host))
	}
	if p.TLS.InsecureSkipVerify {
		warnings = append(warnings, p.Errorf(FieldInsecure, "the portal's certificate is not verified: anyone on the way can take the API key; give its CA file instead"))
	}
	// Stat, not open: the file may be a named pipe. Group read is what a
	// non-root pod reading a Kubernetes secret through its fsGroup needs.
	if fi, err := os.Stat(p.APIKeyFile); p.APIKeyFile != "" && err == nil && fi.Mode().Perm()&0o037 != 0 {
		warnings = append(warnings, p.Errorf(FieldAPIKeyFile, "the API key file %s has mode %04o: others on this host may read or change the key; run chmod 600 %s", p.APIKeyFile, fi.Mode().Perm(), p.APIKeyFile))
	}
	return warnings
}

// Warnings returns what in the configuration works but is unsafe or
// wasteful: each portal's Warnings, and two portals of the same url and dump,
// whose alerts would fire twice and whose two history calls would each make
// DocSpace check the backup storage and drop the records of missing backups.
// The configuration must have passed Parse.
func (c *Config) Warnings() []error {
	var warnings []error
	seen := map[string]*Portal{}
	for i := range c.Portals {
		p := &c.Portals[i]
		warnings = append(warnings, p.Warnings()...)
		u, err := client.ParseURL(p.URL)
		if err != nil {
			continue
		}
		key := fmt.Sprint(u.Scheme, "://", strings.ToLower(u.Host), u.Path, " ", p.Dump)
		if first, dup := seen[key]; dup {
			warnings = append(warnings, p.Errorf(FieldURL, "the portal %q at line %d has the same url and dump: its alerts would fire twice, and each "+
				"history call makes DocSpace check the backup storage and drop the records of missing backups; keep one entry", first.Name, first.origin.line))
			continue
		}
		seen[key] = p
	}
	return warnings
}

// isLoopback tells whether host names this machine: traffic to it never
// leaves it.
func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// typeError tells whether field's value could not be decoded.
func (o *origin) typeError(field string) bool {
	return o != nil && o.typeErrors[field]
}

// has tells whether field is written in the portal's entry or set by a flag.
func (o *origin) has(field string) bool {
	if o == nil {
		return false
	}
	_, flag := o.flags[field]
	_, written := o.lines[field]
	return flag || written
}

// CheckTimeout checks the timeout of a scrape: positive, at most MaxTimeout.
func CheckTimeout(d time.Duration) error {
	switch {
	case d <= 0:
		return errors.New("must be positive, e.g. 15s")
	case d > MaxTimeout:
		return fmt.Errorf("%s is too long: at most %s", d, MaxTimeout)
	}
	return nil
}

// CheckHistoryInterval checks the interval of the stored-backup history: 0
// (off), or at least MinHistoryInterval.
func CheckHistoryInterval(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("must not be negative: give e.g. 1h, or 0 to turn the history off")
	case d > 0 && d < MinHistoryInterval:
		return fmt.Errorf("%s is too short: at least %s (each call checks every stored backup in the backup storage), or 0 to turn the history off", d, MinHistoryInterval)
	}
	return nil
}

// LooksLikeKey tells whether s, given as a file path, a name or another
// setting, looks like an API key or token pasted in by mistake, and so must
// not be shown in a message: a word of it (split at spaces, quotes and
// punctuation) is, or holds, a credential of a
// form DocSpace issues or accepts: an API key (sk-...), a personal access
// token (a JWT, eyJ....), 64 hex digits, or a random base64 or base64url
// token of 32 characters or more. Names and paths, however long, such as
// customer-department-production-01 or a 32-hex id, are no key.
func LooksLikeKey(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("'\"`=:;,()", r) }) {
		if keyStart.MatchString(w) || keyIn.MatchString(w) || isToken(w) || isToken(w[strings.LastIndex(w, "/")+1:]) { // also as a file's name
			return true
		}
	}
	return false
}

var (
	// keyStart matches a word that starts like an API key.
	keyStart = regexp.MustCompile(`^sk-[0-9A-Za-z]{5}`)
	// keyIn finds an API key (sk- and hex digits), a JWT or 64 hex digits
	// inside a longer text.
	keyIn = regexp.MustCompile(`sk-[0-9A-Fa-f]{16}|eyJ[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+\.|[0-9A-Fa-f]{64}`)
	// base64Token matches a word of 32 or more characters of base64 or
	// base64url, padding included.
	base64Token = regexp.MustCompile(`^(?:[0-9A-Za-z+/]{32,}|[0-9A-Za-z_-]{32,})={0,2}$`)
)

// isToken tells whether w is a random base64 or base64url token.
func isToken(w string) bool { return base64Token.MatchString(w) && random(w) }

// random tells whether the letters and digits of w mix lower case, upper
// case and digits as random ones do: the kind changes between 3 in 5 of
// neighbours in a token, 1 in 3 or fewer in words, CamelCase and paths
// (/tmp/TestName123/001); 2 in 5 parts them.
func random(w string) bool {
	var seen [3]bool
	changes, n, last := 0, 0, -1
	for _, c := range []byte(w) {
		var k int
		switch {
		case 'a' <= c && c <= 'z':
			k = 0
		case 'A' <= c && c <= 'Z':
			k = 1
		case '0' <= c && c <= '9':
			k = 2
		default:
			continue
		}
		if n > 0 && k != last {
			changes++
		}
		seen[k], last, n = true, k, n+1
	}
	return seen[0] && seen[1] && seen[2] && 5*changes >= 2*(n-1)
}

// Location returns the portal's time zone, or nil when timezone is unset.
func (p *Portal) Location() (*time.Location, error) {
	if p.Timezone == "" {
		return nil, nil
	}
	if p.Timezone == "Local" {
		return nil, errors.New(`"Local" is the time zone of the exporter's host, not the portal's; use an IANA name such as Europe/Berlin or UTC`)
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return nil, fmt.Errorf("%w; use an IANA name such as Europe/Berlin or UTC", err)
	}
	return loc, nil
}

// MaxLabels is the most labels a portal may have. Prometheus' own
// label_limit bounds a scrape's labels; a handful select and route alerts.
const MaxLabels = 64

// MaxFileSize is the largest configuration file read: a few hundred bytes
// per portal.
const MaxFileSize = 4 << 20

// Load reads and checks the configuration file at path. Its errors name the
// file and the line to fix. The file must be a regular file of at most
// MaxFileSize.
func Load(path string) (*Config, error) {
	if LooksLikeKey(path) {
		return nil, errors.New("configuration file: this looks like an API key, not a file path")
	}
	data, err := smallfile.Read(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("cannot read the configuration file %w", err)
	}
	return Parse(data, path)
}

// Parse checks a configuration given as YAML. source names it in messages,
// usually the file's path; relative file paths in it are taken relative to
// source's folder. Every problem found is reported at once, each as
// "source:line: ..." and, inside a portal, with the portal's name. Parse
// reads no file and no environment variable.
func Parse(data []byte, source string) (*Config, error) {
	name := smallfile.Name(source)
	// The text is parsed once, into nodes; the configuration is decoded
	// from those, and the layout of the file read from them.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: list the DocSpace portals under the key portals", name)
	}
	l := newLayout(name, &root)
	if len(l.tooManyLabels) > 0 {
		return nil, errors.Join(l.tooManyLabels...)
	}

	var cfg Config
	var msgs []string
	if err := root.Decode(&cfg); err != nil {
		te, ok := errors.AsType[*yaml.TypeError](err)
		if !ok {
			return nil, yamlError(name, data, err)
		}
		// The decoder went on after each of these: check the rest too.
		msgs = te.Errors
	}
	budget := maxKeyVisits * (1 + len(l.portalsLines))
	unknownKeys(&root, reflect.TypeFor[Config](), &msgs, &budget)
	slices.SortStableFunc(msgs, func(a, b string) int { return cmp.Compare(messageLine(a), messageLine(b)) })
	var errs []error
	for _, msg := range msgs {
		errs = append(errs, l.typeError(msg))
	}
	if err := dec.Decode(new(yaml.Node)); err == nil {
		errs = append(errs, fmt.Errorf("%s: has more than one YAML document (---): keep a single one", name))
	} else if !errors.Is(err, io.EOF) {
		errs = append(errs, yamlError(name, data, err))
	}
	if len(errs) == 0 || len(cfg.Portals) > 0 {
		errs = append(errs, l.validate(&cfg))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	dir := filepath.Dir(source)
	for i := range cfg.Portals {
		p := &cfg.Portals[i]
		p.APIKeyFile = promconfig.JoinDir(dir, p.APIKeyFile)
		p.TLS.CAFile = promconfig.JoinDir(dir, p.TLS.CAFile)
	}
	return &cfg, nil
}

// layout records where things are in the file, so that messages can name
// the line to fix.
type layout struct {
	source       string
	top          *yaml.Node // the document's top-level value
	portalsLine  int        // line of the portals key; 0 when absent
	portalsEnd   int        // line of the next top-level key; 0 when none
	portalsLines []portalLines
	// decoded holds, for each portal decoded, the index of its entry in
	// portalsLines: the decoder leaves out entries that are no mapping.
	decoded []int
	// tooManyLabels are the portals with more than MaxLabels labels.
	tooManyLabels []error
}

// portalLines holds the lines of one portal in the file.
type portalLines struct {
	line       int             // the portal's first line
	name       string          // its name, as written
	keys       map[string]int  // line of each key; "tls.ca_file" for nested keys
	typeErrors map[string]bool // the keys whose values could not be decoded
}

func newLayout(source string, root *yaml.Node) *layout {
	l := &layout{source: source, top: root.Content[0]}
	if l.top.Kind != yaml.MappingNode {
		return l
	}
	for i := 0; i+1 < len(l.top.Content); i += 2 {
		k, v := l.top.Content[i], l.top.Content[i+1]
		if k.Value != "portals" {
			continue
		}
		l.portalsLine = k.Line
		if i+2 < len(l.top.Content) {
			l.portalsEnd = l.top.Content[i+2].Line
		}
		if v.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range v.Content {
			p := portalLines{line: item.Line, keys: map[string]int{}, typeErrors: map[string]bool{}}
			if decodes(item) {
				l.decoded = append(l.decoded, len(l.portalsLines))
			}
			var labels *yaml.Node
			if item.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(item.Content); j += 2 {
					switch key := item.Content[j]; {
					case key.Value == "name" && p.name == "":
						p.name = item.Content[j+1].Value
					case key.Value == FieldLabels:
						labels = item.Content[j+1]
					}
				}
			}
			// Checked before anything decodes the labels: the decoder's
			// check for duplicate keys takes quadratic time.
			if labels != nil && len(labels.Content)/2 > MaxLabels {
				l.tooManyLabels = append(l.tooManyLabels, fmt.Errorf("%s:%d: %s: labels: %d labels, more than the %d a portal may have: labels go on every series of the portal; keep those that select and route its alerts",
					source, labels.Line, portalLabel(len(l.portalsLines), p.name), len(labels.Content)/2, MaxLabels))
				continue
			}
			budget := maxKeyVisits
			addKeyLines(item, "", p.keys, 0, &budget)
			markTypeErrors(item, reflect.TypeFor[Portal](), "", p.typeErrors)
			l.portalsLines = append(l.portalsLines, p)
		}
	}
	return l
}

// decodes tells whether the decoder makes a portal of the entry n: a
// mapping or an alias of one.
func decodes(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.MappingNode
}

// maxKeyVisits bounds the keys addKeyLines visits for one portal, so that
// aliases merged into one another (a YAML bomb) cannot make it run away.
const maxKeyVisits = 10000

// addKeyLines records in lines the line of every key of the mapping n,
// nested keys as "parent.key": first the keys written there, then those that
// merge keys (<<: *base) bring in and that are not written there, at the
// line of the merge key, so that a setting given by a merge counts as given.
func addKeyLines(n *yaml.Node, prefix string, lines map[string]int, mergeLine int, budget *int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if *budget--; *budget < 0 {
			return
		}
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			merges = append(merges, k, v)
			continue
		}
		if _, written := lines[prefix+k.Value]; !written {
			lines[prefix+k.Value] = cmp.Or(mergeLine, k.Line)
		}
		addKeyLines(v, prefix+k.Value+".", lines, mergeLine, budget)
	}
	for i := 0; i+1 < len(merges); i += 2 {
		k, v := merges[i], merges[i+1]
		bases := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			bases = v.Content
		}
		for _, m := range bases {
			addKeyLines(m, prefix, lines, cmp.Or(mergeLine, k.Line), budget)
		}
	}
}

// markTypeErrors records in bad the keys of the mapping n that are unknown or
// whose values cannot be decoded into the fields of the struct type t,
// nested keys as "parent.key".
func markTypeErrors(n *yaml.Node, t reflect.Type, prefix string, bad map[string]bool) {
	if n.Kind != yaml.MappingNode {
		return
	}
	_, fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i].Value, n.Content[i+1]
		typ, ok := fields[key]
		switch {
		case !ok || value.Decode(reflect.New(typ).Interface()) != nil:
			bad[prefix+key] = true
		case typ.Kind() == reflect.Struct && typ.PkgPath() == t.PkgPath():
			markTypeErrors(value, typ, prefix+key+".", bad)
		}
	}
}

// unknownKeys appends to msgs, worded as the YAML decoder words them with
// KnownFields, the keys of n that no field of t takes: in the mappings that
// decode into this package's structs, through sequences, aliases and merge
// keys (<<: *base), as the decoder goes. Like the decoder, it skips a mapping
// that gives a key twice (that is reported as such) and the keys of a merged
// mapping that the mapping itself gives. budget bounds the keys visited, so
// that aliases of aliases cannot make it run away.
func unknownKeys(n *yaml.Node, t reflect.Type, msgs *[]string, budget *int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case n.Kind == yaml.DocumentNode || n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			t = t.Elem()
		}
		for _, c := range n.Content {
			unknownKeys(c, t, msgs, budget)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && t.PkgPath() == reflect.TypeFor[Config]().PkgPath():
		unknownStructKeys(n, t, map[string]bool{}, msgs, budget)
	}
}

// unknownStructKeys is unknownKeys for the mapping n of the struct type t;
// given holds the keys given by the mappings that merge n in.
func unknownStructKeys(n *yaml.Node, t reflect.Type, given map[string]bool, msgs *[]string, budget *int) {
	seen := map[[2]string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		id := [2]string{strconv.Itoa(int(k.Kind)), k.Value}
		if seen[id] {
			return
		}
		seen[id] = true
	}
	_, fields := yamlFields(t)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if *budget--; *budget < 0 {
			return
		}
		k, v := n.Content[i], n.Content[i+1]
		name, isName := keyName(k)
		switch typ, ok := fields[name]; {
		case k.Tag == "!!merge":
			merges = append(merges, v)
		case !isName || given[name]:
		case ok:
			given[name] = true
			unknownKeys(v, typ, msgs, budget)
		default:
			given[name] = true
			*msgs = append(*msgs, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, name, t))
		}
	}
	for _, v := range merges {
		bases := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			bases = v.Content
		}
		for _, m := range bases {
			for m.Kind == yaml.AliasNode && m.Alias != nil {
				m = m.Alias
			}
			if m.Kind == yaml.MappingNode {
				unknownStructKeys(m, t, given, msgs, budget)
			}
		}
	}
}

// keyName returns the key k as the decoder reads it into a field name;
// false for a key that names no field: null, or no scalar.
func keyName(k *yaml.Node) (string, bool) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	var name string
	if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" || k.Decode(&name) != nil {
		return "", false
	}
	return name, true
}

// messageLine returns the line a decoder message starts with, or 0.
func messageLine(msg string) int {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// portalLabel names the i-th portal in messages: by its name when that is a
// valid one, else by its position.
func portalLabel(i int, name string) string {
	if validName.MatchString(name) && !LooksLikeKey(name) {
		return fmt.Sprintf("portal %q", name)
	}
	return fmt.Sprintf("portal #%d", i+1)
}

// portalAt returns the index of the portal written around line, or -1.
func (l *layout) portalAt(line int) int {
	if l.portalsEnd != 0 && line >= l.portalsEnd {
		return -1
	}
	return sort.Search(len(l.portalsLines), func(i int) bool { return l.portalsLines[i].line > line }) - 1
}

// validate locates each portal in the file and returns every problem of
// the configuration, except those of values that could not be decoded.
func (l *layout) validate(cfg *Config) error {
	if len(cfg.Portals) == 0 {
		if l.portalsLine == 0 {
			return fmt.Errorf("%s:%d: no portals: list: add one entry per DocSpace portal, with name, url and api_key_file or api_key_env", l.source, l.top.Line)
		}
		return fmt.Errorf("%s:%d: portals is empty: add one entry per DocSpace portal, with name, url and api_key_file or api_key_env", l.source, l.portalsLine)
	}
	var errs []error
	seen := map[string]int{} // name -> line of its first use
	for i := range cfg.Portals {
		p := &cfg.Portals[i]
		p.origin = l.origin(i, p.Name)
		switch first, dup := seen[p.Name]; {
		case p.origin.typeError(FieldName):
		case p.Name == "":
			errs = append(errs, p.Errorf(FieldName, "is missing: give each portal a short name such as main; it selects the portal in /probe?target=<name>"))
		case LooksLikeKey(p.Name):
			errs = append(errs, p.Errorf(FieldName, "this looks like an API key, not a name: give the portal a short name such as main, and the key in api_key_file or api_key_env"))
		case !validName.MatchString(p.Name):
			errs = append(errs, p.Errorf(FieldName, "%q is not allowed: use letters, digits, '.', '_' and '-', starting with a letter or digit (the portal's address goes in url)", p.Name))
		case dup:
			errs = append(errs, p.Errorf(FieldName, "%q is already used by the portal at line %d: names must be unique", p.Name, first))
		default:
			seen[p.Name] = cmp.Or(p.origin.lines[FieldName], p.origin.line)
		}
		errs = append(errs, p.Check()) // Join drops the nil of a valid portal
	}
	return errors.Join(errs...)
}

// origin returns where in the file the i-th portal decoded, called name, is.
func (l *layout) origin(i int, name string) *origin {
	if i >= len(l.decoded) { // the portals come from an alias or a merge key
		return &origin{file: l.source, label: portalLabel(i, name), line: max(l.portalsLine, l.top.Line), lines: map[string]int{}}
	}
	j := l.decoded[i]
	pl := l.portalsLines[j]
	return &origin{file: l.source, label: portalLabel(j, name), line: pl.line, lines: pl.keys, typeErrors: pl.typeErrors}
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)
	wrongType    = regexp.MustCompile("^line (\\d+): cannot unmarshal (\\S+)(?: `.*`)? into (.+)$")
	duplicateKey = regexp.MustCompile(`^line \d+: mapping key (".*") already defined at line (\d+)$`)
)

// yamlError rewrites a YAML syntax error of data as "source:line: ...".
// The YAML parser names the line where the enclosing block starts, which
// can be far above the mistake: the line is found by parsing ever longer
// beginnings of data until one fails the same way.
func yamlError(source string, data []byte, err error) error {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		if line, col, ok := notUTF8(data); ok && strings.Contains(msg, "UTF-8") {
			return fmt.Errorf("%s:%d: the file is not UTF-8 text: an invalid byte at column %d; save it as UTF-8", source, line, col)
		}
		return fmt.Errorf("%s: invalid YAML: %s", source, strings.TrimPrefix(msg, "yaml: "))
	}
	block, _ := strconv.Atoi(m[1])
	line, in := block, ""
	if l := failingLine(data, msg); l > block {
		line, in = l, fmt.Sprintf(" (in the block that starts at line %d)", block)
	}
	return fmt.Errorf("%s:%d: invalid YAML: %s%s%s", source, line, m[2], in, tabNote(data, line))
}

// tabNote returns advice when line of data is indented with a tab, "" else.
func tabNote(data []byte, line int) string {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	l := lines[line-1]
	if !bytes.ContainsRune(l[:len(l)-len(bytes.TrimLeft(l, " \t"))], '\t') {
		return ""
	}
	return ": YAML does not allow tabs for indentation: use spaces"
}

// failingLine returns the number of the first line of data at which it
// fails to parse with the error message msg, where the mistake is; 0 when
// it cannot tell.
func failingLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:n], nil)))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return !errors.Is(err, io.EOF) && err.Error() == msg
			}
		}
	}
	if !fails(len(lines)) {
		return 0
	}
	// The first n in [1, len(lines)] with fails(n).
	return 1 + sort.Search(len(lines)-1, func(i int) bool { return fails(i + 1) })
}

// notUTF8 returns the line and column (in bytes, from 1) of the first byte
// of data that is not UTF-8.
func notUTF8(data []byte) (line, col int, ok bool) {
	for i := range string(data) {
		if r, size := utf8.DecodeRune(data[i:]); r == utf8.RuneError && size == 1 {
			before := data[:i]
			return bytes.Count(before, []byte("\n")) + 1, i - bytes.LastIndexByte(before, '\n'), true
		}
	}
	return 0, 0, false
}

// keysOf describes where each decoded type sits in the file.
var keysOf = map[string]struct {
	where string
	typ   reflect.Type
}{
	"config.Config": {"at the top level", reflect.TypeFor[Config]()},
	"config.Portal": {"in a portal", reflect.TypeFor[Portal]()},
	"config.TLS":    {"in tls", reflect.TypeFor[TLS]()},
}

// wants describes the value each decoded type needs.
var wants = map[string]string{
	"time.Duration":     "a duration such as 15s or 1m",
	"bool":              "true or false",
	"string":            "a single value",
	"map[string]string": "a mapping of label names to values, e.g. {env: prod}",
	"[]config.Portal":   `a list with one entry per portal, each starting with "- name:"`,
	"config.Portal":     "a mapping of keys such as name: and url:",
	"config.TLS":        "a mapping with ca_file: and insecure_skip_verify:",
	"config.Config":     "a mapping with a portals: list",
}

// kinds names the YAML tags in messages.
var kinds = map[string]string{
	"!!str":   "a string",
	"!!int":   "a number",
	"!!float": "a number",
	"!!bool":  "true or false",
	"!!seq":   "a list",
	"!!map":   "a mapping",
	"!!null":  "empty",
}

// typeError rewrites one message of a yaml.TypeError. The value is never
// quoted: it could be a key put in the wrong place.
func (l *layout) typeError(msg string) error {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", l.source, msg)
	}
	line, _ := strconv.Atoi(m[1])
	where := l.source + ":" + m[1] + ": "
	if i := l.portalAt(line); i >= 0 {
		where += portalLabel(i, l.portalsLines[i].name) + ": "
	}

	if f := unknownField.FindStringSubmatch(msg); f != nil {
		key, typ := f[2], f[3]
		if key == "api_key" {
			return fmt.Errorf("%sapi_key is not supported: the API key is never written in the configuration file; put it in a file and give its path in api_key_file, or in an environment variable and give its name in api_key_env", where)
		}
		if LooksLikeKey(key) {
			return fmt.Errorf("%sunknown key that looks like an API key (not shown): remove it; the API key is never written in the configuration file", where)
		}
		k, ok := keysOf[typ]
		if !ok {
			return fmt.Errorf("%sunknown key %q", where, key)
		}
		keys, _ := yamlFields(k.typ)
		return fmt.Errorf("%sunknown key %q %s%s; the known keys are %s", where, key, k.where, didYouMean(key, keys), strings.Join(keys, ", "))
	}

	if t := wrongType.FindStringSubmatch(msg); t != nil {
		want, got := cmp.Or(wants[t[3]], "a value of type "+t[3]), cmp.Or(kinds[t[2]], t[2])
		return fmt.Errorf("%sexpected %s here, not %s", where, want, got)
	}
	if d := duplicateKey.FindStringSubmatch(msg); d != nil {
		if LooksLikeKey(d[1]) {
			return fmt.Errorf("%sa key that looks like an API key (not shown) is given twice (first at line %s): remove it", where, d[2])
		}
		return fmt.Errorf("%skey %s is given twice (first at line %s): keep one", where, d[1], d[2])
	}
	if LooksLikeKey(m[2]) {
		return fmt.Errorf("%sinvalid value (not shown: it looks like an API key)", where)
	}
	return fmt.Errorf("%s%s", where, m[2])
}

// didYouMean returns " (did you mean <key>?)" for the known key nearest to
// key by edit distance, when it is at most 2 edits and less than half of key
// differs; else "".
func didYouMean(key string, known []string) string {
	best, dist := "", 3
	for _, k := range known {
		if d := levenshtein.ComputeDistance(strings.ToLower(key), k); d < dist && 2*d <= len(key) {
			best, dist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// yamlFields returns the YAML keys of the struct type t, in order, and the
// type of the field of each.
func yamlFields(t reflect.Type) (keys []string, types map[string]reflect.Type) {
	types = map[string]reflect.Type{}
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" {
			keys = append(keys, name)
			types[name] = f.Type
		}
	}
	return keys, types
}
