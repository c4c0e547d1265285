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
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone must work on hosts and images without a zoneinfo database
	"unicode/utf8"

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
	// Dump asks for the dump-based, server-wide backup schedule.
	Dump bool `yaml:"dump"`
	// Timezone is an IANA time zone name such as Europe/Berlin; empty when
	// the portal's own settings tell it.
	Timezone string `yaml:"timezone"`
	// Timeout is the most one scrape of the portal spends on DocSpace, e.g.
	// 15s; 0 in the file means the exporter's --docspace.timeout.
	Timeout time.Duration `yaml:"timeout"`
	// TLS holds the TLS settings for the portal.
	TLS TLS `yaml:"tls"`
	// HistoryInterval is how often the list of stored backups
	// (getbackuphistory) is read, e.g. 1h, counted from the end of the last
	// call; 0 turns it off. Left out of the file, it is the exporter's
	// --docspace.history-interval.
	HistoryInterval time.Duration `yaml:"history_interval"`
	// Labels are target labels for the portal's series, e.g. {env: prod}:
	// the discovery endpoint hands them to Prometheus with the portal.
	Labels map[string]string `yaml:"labels"`

	// origin says where the settings were given, for messages.
	origin *origin
}

// TLS holds the TLS settings of a portal.
type TLS struct {
	// CAFile is a PEM file of the CA certificates to trust instead of the
	// system's. In the configuration file a relative path is relative to
	// the file's folder.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns off certificate checks.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
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

// Same tells whether p and q are scraped alike: the same settings,
// wherever they were given. Labels are left aside: they only label the
// target that /discovery lists, never a call to DocSpace.
func (p Portal) Same(q Portal) bool {
	p.origin, q.origin = nil, nil
	p.Labels, q.Labels = nil, nil
	return reflect.DeepEqual(p, q)
}

// Gives tells whether the portal's settings give field themselves: the key
// is written in its entry of the file. The portal of the flags gives every
// field (an unset flag gives its default).
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
	line := o.line
	if n, ok := o.lines[field]; ok {
		line = n
	}
	return fmt.Errorf("%s:%d: %s: %w", o.file, line, o.label, msg)
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
	if p.URL == "" {
		report(FieldURL, "is missing: give the portal root, e.g. https://portal.example.com")
	} else if _, err := client.ParseURL(p.URL); err != nil {
		report(FieldURL, "%w", err)
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
	if err := CheckTimeout(p.Timeout); err != nil && (p.Timeout != 0 || p.origin.has(FieldTimeout)) {
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
	// The labels of the exporter's metrics (collector/metrics.go): a target
	// label of the same name would rename theirs to exported_<name>.
	"collector":    "is a label of the exporter's metrics",
	"period":       "is a label of the exporter's metrics",
	"storage_type": "is a label of the exporter's metrics",
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
		switch reason, reserved := reservedLabels[name]; {
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
// located with Errorf: the key sent unencrypted, or certificates not
// verified. The settings must have passed Check.
func (p *Portal) Warnings() []error {
	var warnings []error
	if u, err := client.ParseURL(p.URL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		warnings = append(warnings, p.Errorf(FieldURL, "%s://%s is plain http: the API key is sent unencrypted over the network; use https://", u.Scheme, u.Host))
	}
	if p.TLS.InsecureSkipVerify {
		warnings = append(warnings, p.Errorf(FieldInsecure, "the portal's certificate is not verified: anyone on the way can take the API key; give its CA file instead"))
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

// has tells whether field is written in the portal's entry of the file.
func (o *origin) has(field string) bool {
	if o == nil {
		return false
	}
	if o.flags != nil {
		return true
	}
	_, ok := o.lines[field]
	return ok
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
// not be shown in a message: a word of it starts like a key (sk-abcde),
// holds sk- and hex digits, or is long without a '/' or '.'.
func LooksLikeKey(s string) bool {
	for _, w := range strings.Fields(s) {
		if keyStart.MatchString(w) || apiKeyIn.MatchString(w) || len(w) >= 32 && !strings.ContainsAny(w, "/.") {
			return true
		}
	}
	return false
}

var (
	// keyStart matches a word that starts like an API key.
	keyStart = regexp.MustCompile(`^sk-[0-9A-Za-z]{5}`)
	// apiKeyIn finds an API key (sk- and hex digits) inside a longer text.
	apiKeyIn = regexp.MustCompile(`sk-[0-9A-Fa-f]{16}`)
)

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
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, data, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: list the DocSpace portals under the key portals", name)
	}
	l := newLayout(name, &root)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var (
		cfg  Config
		errs []error
	)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlError(name, data, err)
		}
		// The decoder went on after each of these: check the rest too.
		for _, msg := range te.Errors {
			errs = append(errs, l.typeError(msg))
		}
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
		p.APIKeyFile = relativeTo(dir, p.APIKeyFile)
		p.TLS.CAFile = relativeTo(dir, p.TLS.CAFile)
	}
	return &cfg, nil
}

// relativeTo returns path taken relative to dir, as Prometheus does with
// the files its configuration names.
func relativeTo(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// Portal returns the portal called name.
func (c *Config) Portal(name string) (*Portal, bool) {
	for i := range c.Portals {
		if c.Portals[i].Name == name {
			return &c.Portals[i], true
		}
	}
	return nil, false
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
}

// portalLines holds the lines of one portal in the file.
type portalLines struct {
	line int            // the portal's first line
	name string         // its name, as written
	keys map[string]int // line of each key; "tls.ca_file" for nested keys
	// typeErrors holds the keys whose values could not be decoded.
	typeErrors map[string]bool
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
			keyLines(item, "", p.keys)
			markTypeErrors(item, reflect.TypeFor[Portal](), "", p.typeErrors)
			if item.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(item.Content); j += 2 {
					if item.Content[j].Value == "name" && p.name == "" {
						p.name = item.Content[j+1].Value
					}
				}
			}
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

// keyLines records the line of every key of the mapping n in lines, nested
// keys as "parent.key".
func keyLines(n *yaml.Node, prefix string, lines map[string]int) {
	budget := maxKeyVisits
	addKeyLines(n, prefix, lines, 0, &budget)
}

// maxKeyVisits bounds the keys keyLines visits, so that aliases merged
// into one another (a YAML bomb) cannot make it run away.
const maxKeyVisits = 10000

// addKeyLines records the keys of n written there; then those that merge
// keys (<<: *base) bring in and that are not written there, at the line
// of the merge key, so that a setting given by a merge counts as given.
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
		line := k.Line
		if mergeLine != 0 {
			line = mergeLine
		}
		if _, written := lines[prefix+k.Value]; !written {
			lines[prefix+k.Value] = line
		}
		addKeyLines(v, prefix+k.Value+".", lines, mergeLine, budget)
	}
	for i := 0; i+1 < len(merges); i += 2 {
		k, v := merges[i], merges[i+1]
		line := cmp.Or(mergeLine, k.Line)
		if v.Kind == yaml.SequenceNode {
			for _, m := range v.Content {
				addKeyLines(m, prefix, lines, line, budget)
			}
		} else {
			addKeyLines(v, prefix, lines, line, budget)
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
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" {
			fields[name] = t.Field(i).Type
		}
	}
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
			seen[p.Name] = p.origin.line
			if n, ok := p.origin.lines[FieldName]; ok {
				seen[p.Name] = n
			}
		}
		if err := p.Check(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// origin returns where the i-th portal decoded, called name, is in the
// file.
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
	unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
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
		if strings.Contains(msg, "UTF-8") {
			if line, col, ok := notUTF8(data); ok {
				return fmt.Errorf("%s:%d: the file is not UTF-8 text: an invalid byte at column %d; save it as UTF-8", source, line, col)
			}
		}
		return fmt.Errorf("%s: invalid YAML: %s", source, strings.TrimPrefix(msg, "yaml: "))
	}
	block, _ := strconv.Atoi(m[1])
	if line := failingLine(data, msg); line > block {
		return fmt.Errorf("%s:%d: invalid YAML: %s (in the block that starts at line %d)", source, line, m[2], block)
	}
	return fmt.Errorf("%s:%d: invalid YAML: %s", source, block, m[2])
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
	lo, hi := 1, len(lines)
	if !fails(hi) {
		return 0
	}
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// notUTF8 returns the line and column (in bytes, from 1) of the first byte
// of data that is not UTF-8.
func notUTF8(data []byte) (line, col int, ok bool) {
	line, start := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, i - start + 1, true
		case r == '\n':
			line, start = line+1, i+1
		}
		i += size
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
		return fmt.Errorf("%sunknown key %q %s; the known keys are %s", where, key, k.where, strings.Join(yamlKeys(k.typ), ", "))
	}

	if t := wrongType.FindStringSubmatch(msg); t != nil {
		want, ok := wants[t[3]]
		if !ok {
			want = "a value of type " + t[3]
		}
		got, ok := kinds[t[2]]
		if !ok {
			got = t[2]
		}
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

// yamlKeys lists the YAML keys of the struct type t.
func yamlKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}
