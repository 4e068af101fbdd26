package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/toolwarden/toolwarden/broker/audit"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// markerPrefix starts every redaction marker.
const markerPrefix = "[REDACTED:hmac-sha256:"

// Redactor replaces secrets with markers before a record is hashed.
//
// A marker is "[REDACTED:hmac-sha256:H]", where H is the first 16 hex
// digits of HMAC-SHA256(log key, secret). The secret is not stored, but
// the same secret under the same key always gives the same marker, so a
// security team holding the key can correlate calls that used one
// credential, and check whether a given value is the one redacted, without
// the log ever holding it.
//
// # Notes
//
// A Redactor is immutable and safe for concurrent use. Markers from
// Redactors with different keys cannot be correlated: load the key from a
// file ([LoadHMACKey]) so it survives restarts.
type Redactor struct {
	key []byte
}

// New returns a Redactor keyed with key, which must be at least
// [audit.HMACKeySize] bytes. The key is copied.
func New(key []byte) (*Redactor, error) {
	if len(key) < audit.HMACKeySize {
		return nil, fmt.Errorf("redact: HMAC key is %d bytes, want at least %d", len(key), audit.HMACKeySize)
	}
	return &Redactor{key: bytes.Clone(key)}, nil
}

// NewEphemeral returns a Redactor with a random key that lives as
// long as the process: its markers correlate only with each other.
func NewEphemeral() *Redactor {
	key := make([]byte, audit.HMACKeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it crashes the program instead)
	return &Redactor{key: key}
}

// Marker returns the marker that replaces secret.
func (r *Redactor) Marker(secret string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(secret))
	var sum [sha256.Size]byte
	return markerPrefix + hex.EncodeToString(m.Sum(sum[:0])[:8]) + "]"
}

// IsMarker reports whether s is exactly one redaction marker.
func IsMarker(s string) bool {
	if len(s) != len(markerPrefix)+16+1 || !strings.HasPrefix(s, markerPrefix) || s[len(s)-1] != ']' {
		return false
	}
	for _, c := range []byte(s[len(markerPrefix) : len(s)-1]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ContainsMarker reports whether a string or JSON text holds a redaction
// marker anywhere.
func ContainsMarker(b []byte) bool { return bytes.Contains(b, []byte(markerPrefix)) }

// Arguments returns the JSON of a call's arguments for the log.
//
// args is a value decoded from JSON (maps, slices, strings, json.Number or
// float64, bools, nil). The value of a member is replaced by its marker
// when its JSON pointer is in sensitivePointers (as
// manifests.Schema.SensitivePointers writes them: "/password",
// "/auth/token", "/keys/-" for every element of keys; a numeric index
// matches too, and "/*" every member of an object) or when its name says it holds a secret (password, secret,
// token, api_key, private_key, access_key, authorization, credentials, …).
// A string or object value is hashed as its JSON text, except that a
// string is hashed as its characters, so it correlates with the same
// secret found in an error message. Every other string, and every member
// name, is passed through [Redactor.Text]. args is not modified.
func (r *Redactor) Arguments(args any, sensitivePointers []string) json.RawMessage {
	sensitive := make(map[string]bool, len(sensitivePointers))
	for _, p := range sensitivePointers {
		sensitive[p] = true
	}
	v := r.redactValue(args, "", sensitive)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage(strconv.Quote(r.Marker(fmt.Sprint(args))))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// ArgumentsRaw is [Redactor.Arguments] for arguments whose exact
// bytes are at hand (raw, which decodes to args). When nothing in args needs
// redacting it returns raw itself, compacted: the log keeps the bytes the
// caller sent, and the arguments are not re-encoded on every call.
func (r *Redactor) ArgumentsRaw(raw []byte, args any, sensitivePointers []string) json.RawMessage {
	var sensitive map[string]bool
	if len(sensitivePointers) > 0 {
		sensitive = make(map[string]bool, len(sensitivePointers))
		for _, p := range sensitivePointers {
			sensitive[p] = true
		}
	}
	var ptr [256]byte
	if !r.needsRedaction(args, ptr[:0], sensitive) {
		if compactJSON(raw) {
			return raw
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err == nil {
			return buf.Bytes()
		}
	}
	return r.Arguments(args, sensitivePointers)
}

// compactJSON reports whether the JSON text b has no whitespace outside
// its strings, so json.Compact would return it unchanged.
func compactJSON(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			end := strictjson.StringEnd(b, i+1)
			if end < 0 {
				return true // unterminated: not valid JSON anyway
			}
			i = end - 1
		}
	}
	return true
}

// needsRedaction reports whether redactValue would change anything in v.
// ptr is v's JSON pointer, built in a buffer the walk extends and
// truncates (only when sensitive has entries to match), so the walk of a
// document with nothing to redact allocates nothing.
func (r *Redactor) needsRedaction(v any, ptr []byte, sensitive map[string]bool) bool {
	switch x := v.(type) {
	case map[string]any:
		n := len(ptr)
		for k, val := range x {
			if secretName(k) || r.Text(k) != k {
				return true
			}
			if len(sensitive) > 0 {
				if sensitive[string(append(ptr[:n], "/*"...))] {
					return true
				}
				ptr = appendPointerToken(append(ptr[:n], '/'), k)
				if sensitive[string(ptr)] {
					return true
				}
			}
			if r.needsRedaction(val, ptr, sensitive) {
				return true
			}
		}
	case []any:
		n := len(ptr)
		for i, val := range x {
			if len(sensitive) > 0 {
				if sensitive[string(strconv.AppendInt(append(ptr[:n], '/'), int64(i), 10))] {
					return true
				}
				ptr = append(ptr[:n], "/-"...)
				if sensitive[string(ptr)] {
					return true
				}
			}
			if r.needsRedaction(val, ptr, sensitive) {
				return true
			}
		}
	case string:
		return r.Text(x) != x
	}
	return false
}

// appendPointerToken appends s escaped as a JSON pointer reference token.
func appendPointerToken(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '~':
			dst = append(dst, '~', '0')
		case '/':
			dst = append(dst, '~', '1')
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

func (r *Redactor) redactValue(v any, ptr string, sensitive map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			p := ptr + "/" + pointerToken(k)
			name := r.Text(k)
			if sensitive[p] || sensitive[ptr+"/*"] || secretName(k) {
				out[name] = r.secretMarker(val)
				continue
			}
			out[name] = r.redactValue(val, p, sensitive)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			if sensitive[ptr+"/-"] || sensitive[ptr+"/"+strconv.Itoa(i)] {
				out[i] = r.secretMarker(val)
				continue
			}
			out[i] = r.redactValue(val, ptr+"/-", sensitive)
		}
		return out
	case string:
		return r.Text(x)
	default:
		return v
	}
}

// secretMarker returns the marker for a whole secret value.
func (r *Redactor) secretMarker(v any) string {
	if s, ok := v.(string); ok {
		return r.Marker(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return r.Marker(fmt.Sprint(v))
	}
	return r.Marker(string(b))
}

// pointerToken escapes a member name as a JSON pointer reference token
// (RFC 6901): "~" as "~0", "/" as "~1".
func pointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Text returns s with every substring that looks like a secret
// replaced by its marker: bearer and basic credentials, JWTs, PEM private
// key blocks, cloud access keys (AWS, Google Cloud, Azure), common API key
// formats (GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, npm, PyPI,
// SendGrid, Twilio, Hugging Face, toolwarden), the password in a URL, and
// the value in "password=…", "token: …", "api_key=…" and the like. Use it
// for error messages and output excerpts. Markers themselves pass
// unchanged, so redacting twice changes nothing.
func (r *Redactor) Text(s string) string {
	if len(s) < 8 {
		return s
	}
	var spans [][2]int
	low := asciiLower(s)
	ds := loadDetectors()
	for cand := candidates(ds, s, low); cand != 0; cand &= cand - 1 {
		d := &ds.list[bits.TrailingZeros64(cand)]
		text := s
		if d.fold {
			text = low
		}
		if d.also != 0 && strings.IndexByte(text, d.also) < 0 {
			continue
		}
		for _, m := range d.re.FindAllStringSubmatchIndex(text, -1) {
			lo, hi := m[0], m[1]
			for g := 1; 2*g < len(m); g++ { // the first group that took part
				if m[2*g] >= 0 {
					lo, hi = m[2*g], m[2*g+1]
					break
				}
			}
			if hi > lo {
				spans = append(spans, [2]int{lo, hi})
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp[0] < last[1] {
			last[1] = max(last[1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := 0
	for _, sp := range merged {
		secret := s[sp[0]:sp[1]]
		if IsMarker(secret) || strings.HasPrefix(secret, markerPrefix) {
			continue
		}
		b.WriteString(s[prev:sp[0]])
		b.WriteString(r.Marker(secret))
		prev = sp[1]
	}
	b.WriteString(s[prev:])
	return b.String()
}

// Record redacts rec before it is hashed: its arguments (args, their
// decoded value, and sensitive, the tool schema's sensitive pointers; see
// [Redactor.ArgumentsRaw]) and every free-text field a client or a tool
// controls (error, the excerpt of a refused message, request id, method,
// user agent, client name and version, model, flags, egress hosts, paths
// and reasons). It is the one place a record is
// redacted. Slices rec shares with its caller are copied before a change.
func (r *Redactor) Record(rec *audit.Record, args any, sensitive []string) {
	if len(rec.Arguments) > 0 {
		if args != nil {
			rec.Arguments = r.ArgumentsRaw(rec.Arguments, args, sensitive)
		} else {
			// Arguments that were never decoded are kept only as a marker.
			rec.Arguments = json.RawMessage(strconv.Quote(r.Marker(string(rec.Arguments))))
		}
	}
	rec.Error = r.Text(rec.Error)
	rec.Excerpt = r.Text(rec.Excerpt)
	rec.RequestID = r.Text(rec.RequestID)
	rec.Method = r.Text(rec.Method)
	rec.UserAgent = r.Text(rec.UserAgent)
	rec.ClientName = r.Text(rec.ClientName)
	rec.ClientVersion = r.Text(rec.ClientVersion)
	rec.Model = r.Text(rec.Model)
	cloned := false
	for i, f := range rec.Flags {
		if g := r.Text(f); g != f {
			if !cloned {
				rec.Flags, cloned = slices.Clone(rec.Flags), true
			}
			rec.Flags[i] = g
		}
	}
	cloned = false
	for i, e := range rec.Egress {
		host, path, reason := r.Text(e.Host), r.Text(e.Path), r.Text(e.Reason)
		if host != e.Host || path != e.Path || reason != e.Reason {
			if !cloned {
				rec.Egress, cloned = slices.Clone(rec.Egress), true
			}
			rec.Egress[i].Host, rec.Egress[i].Path, rec.Egress[i].Reason = host, path, reason
		}
	}
}

// secretWords are member-name words that mark a secret value.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "pwd": true, "pass": true,
	"secret": true, "secrets": true, "token": true, "apikey": true, "authorization": true,
	"credential": true, "credentials": true, "cookie": true, "privatekey": true,
	"accesskey": true, "secretkey": true, "bearer": true, "jwt": true,
}

// secretPairs are adjacent member-name words, joined by a space, that
// mark a secret value.
var secretPairs = map[string]bool{
	"api key": true, "private key": true, "access key": true,
	"secret key": true, "signing key": true, "encryption key": true,
	"master key": true, "account key": true, "session key": true,
	"client secret": true, "set cookie": true,
}

// secretSubstrings mark a secret wherever they occur in a lower-cased
// member name, even run together ("clientsecret", "xapikey").
var secretSubstrings = []string{
	"password", "passwd", "passphrase", "secret", "apikey", "api_key", "api-key",
	"privatekey", "private_key", "accesskey", "access_key", "accesstoken",
	"refreshtoken", "authtoken", "bearertoken", "idtoken", "sessiontoken",
	"authorization", "credential",
}

// secretSubstringBytes are secretSubstrings as byte slices.
var secretSubstringBytes = func() [][]byte {
	out := make([][]byte, len(secretSubstrings))
	for i, s := range secretSubstrings {
		out[i] = []byte(s)
	}
	return out
}()

// secretSubstringStarts[pairHash(a, b)] has bit k set when
// secretSubstrings[k] starts with the bytes a, b: a name is compared only
// with the substrings that can start at each of its positions.
var secretSubstringStarts = func() (t [4096]uint32) {
	if len(secretSubstrings) > 32 {
		panic("audit: more than 32 secret name substrings")
	}
	for k, s := range secretSubstrings {
		t[pairHash(s[0], s[1])] |= 1 << k
	}
	return t
}()

// secretName reports whether a member name says its value is a secret.
// "max_tokens" and "token_count" are not secrets; "token", "access_token",
// "apiKey", "X-Api-Key" and "clientSecret" are.
func secretName(name string) bool {
	var buf [64]byte
	var lower []byte
	if len(name) <= len(buf) {
		lower = buf[:len(name)]
	} else {
		lower = make([]byte, len(name))
	}
	ascii := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		ascii = ascii && c < 0x80
		lower[i] = c
	}
	// Some non-ASCII letters lower to ASCII ones (the Kelvin sign to k).
	full := lower
	if !ascii {
		full = []byte(strings.ToLower(name))
	}
	for i := 0; i+1 < len(full); i++ {
		for m := secretSubstringStarts[pairHash(full[i], full[i+1])]; m != 0; m &= m - 1 {
			if bytes.HasPrefix(full[i:], secretSubstringBytes[bits.TrailingZeros32(m)]) {
				return true
			}
		}
	}
	secret := false
	var prev []byte
	var pair [128]byte
	ws := words{name: name, lower: lower}
	for w, ok := ws.next(); ok; w, ok = ws.next() {
		if string(prev) == "token" && (string(w) == "count" || string(w) == "limit" || string(w) == "type") {
			secret = false // "token_count" and the like: not a secret after all
		} else if secret {
			break
		}
		if secretWords[string(w)] {
			secret = true
		} else if prev != nil && len(prev)+1+len(w) <= len(pair) {
			p := append(append(append(pair[:0], prev...), ' '), w...)
			secret = secretPairs[string(p)]
		}
		prev = w
	}
	return secret
}

// words splits a member name into lower-cased words at non-alphanumeric
// characters and lower-to-upper case changes: "X-Api-Key" and "xApiKey"
// both give x, api, key. lower is name with ASCII letters lowered; a word
// with non-ASCII bytes is lowered with strings.ToLower.
type words struct {
	name  string
	lower []byte
	i     int
}

// next returns the next word, or false at the end.
func (ws *words) next() ([]byte, bool) {
	name := ws.name
	i := ws.i
	for i < len(name) && !wordByte(name[i]) {
		i++
	}
	if i == len(name) {
		ws.i = i
		return nil, false
	}
	start := i
	ascii := name[i] < 0x80
	for i++; i < len(name) && wordByte(name[i]); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' && name[i-1] >= 'a' && name[i-1] <= 'z' {
			break
		}
		ascii = ascii && c < 0x80
	}
	ws.i = i
	if !ascii {
		return []byte(strings.ToLower(name[start:i])), true
	}
	return ws.lower[start:i], true
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// detector finds one kind of secret in free text.
type detector struct {
	name string
	// lits start every match: the regexp runs only on text containing
	// one, and a literal prefix lets the regexp skip to candidates. Each
	// is at least 2 bytes.
	lits []string
	also byte // if set, must occur too
	// fold runs the regexp, written in lower case, on the text with ASCII
	// letters lowered (same length, so positions carry over).
	fold bool
	re   *regexp.Regexp
}

// secretDetectors are the detectors Text runs and their pair
// table, built on first use: compiling them at package init would cost
// every process that links this package (the plugin launcher among them)
// a few milliseconds at start.
type secretDetectors struct {
	list []detector
	// pairs[fold][pairHash(a, b)] has bit k set when one of detector k's
	// literals starts with the bytes a, b (in the lowered text when fold
	// is 1). Hash collisions only cost a prefix comparison.
	pairs [2][4096]uint64
	// used[fold] has bit h set when pairs[fold][h] is not zero.
	used [2][4096 / 64]uint64
}

var loadDetectors = sync.OnceValue(func() *secretDetectors {
	ds := &secretDetectors{list: newDetectors()}
	if len(ds.list) > 64 {
		panic("audit: more than 64 secret detectors")
	}
	for k, d := range ds.list {
		f := 0
		if d.fold {
			f = 1
		}
		for _, lit := range d.lits {
			if len(lit) < 2 {
				panic("audit: detector literal " + lit + " is shorter than 2 bytes")
			}
			h := pairHash(lit[0], lit[1])
			ds.pairs[f][h] |= 1 << k
			ds.used[f][h>>6] |= 1 << (h & 63)
		}
	}
	return ds
})

func pairHash(a, b byte) int { return (int(a)<<4 ^ int(b)) & 4095 }

// candidates returns the set of detectors one of whose literals occurs in
// s (or, for folding detectors, in low), in one pass over the text.
func candidates(ds *secretDetectors, s, low string) uint64 {
	var found uint64
	for i := 0; i+1 < len(s); i++ {
		// The bitmaps (1 KiB) stay in cache; the pair table (64 KiB) is
		// read only where a literal may start, a few positions in most
		// text.
		if h := pairHash(s[i], s[i+1]); ds.used[0][h>>6]&(1<<(h&63)) != 0 {
			for m := ds.pairs[0][h] &^ found; m != 0; m &= m - 1 {
				k := bits.TrailingZeros64(m)
				for _, lit := range ds.list[k].lits {
					if strings.HasPrefix(s[i:], lit) {
						found |= 1 << k
					}
				}
			}
		}
		if h := pairHash(low[i], low[i+1]); ds.used[1][h>>6]&(1<<(h&63)) != 0 {
			for m := ds.pairs[1][h] &^ found; m != 0; m &= m - 1 {
				k := bits.TrailingZeros64(m)
				for _, lit := range ds.list[k].lits {
					if strings.HasPrefix(low[i:], lit) {
						found |= 1 << k
					}
				}
			}
		}
	}
	return found
}

// asciiLower returns s with ASCII letters lowered: the same length as s.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// valueAfterName matches what follows a secret-ish name in "name=value"
// text: more name characters, an optional quote, = or :, an optional
// quote and auth scheme, and the value (group 1).
const valueAfterName = `[a-z0-9_.\-]*["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest)\s+)?([^\s"'&,;}\])]+)`

// secretNameWords start a "name=value" pair whose value is a secret.
var secretNameWords = []string{
	"password", "passwd", "passphrase", "pwd", "secret", "token", "api_key", "api-key", "apikey",
	"access_key", "access-key", "accesskey", "private_key", "private-key", "privatekey",
	"credential", "authorization", "cookie",
}

// newDetectors returns the secret shapes Text replaces.
func newDetectors() []detector {
	d := []detector{
		{name: "private key block", lits: []string{"-----BEGIN"},
			re: regexp.MustCompile(`-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)`)},
		{name: "jwt", lits: []string{"eyJ"},
			re: regexp.MustCompile(`eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?`)},
		{name: "bearer credential", lits: []string{"bearer"}, fold: true,
			re: regexp.MustCompile(`bearer\s+([a-z0-9\-._~+/]{8,}=*)`)},
		{name: "aws access key id", lits: []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "APKA"},
			re: regexp.MustCompile(`(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b`)},
		{name: "google api key", lits: []string{"AIza"}, re: regexp.MustCompile(`AIza[0-9A-Za-z_\-]{35}`)},
		{name: "google oauth token", lits: []string{"ya29."}, re: regexp.MustCompile(`ya29\.[0-9A-Za-z_\-]{20,}`)},
		{name: "azure account key", lits: []string{"accountkey="}, fold: true, re: regexp.MustCompile(`accountkey=([a-z0-9+/=]{20,})`)},
		{name: "azure shared access key", lits: []string{"sharedaccesskey="}, fold: true, re: regexp.MustCompile(`sharedaccesskey=([a-z0-9+/=]{20,})`)},
		{name: "sas signature", lits: []string{"sig="}, fold: true, re: regexp.MustCompile(`sig=([a-z0-9%+/=]{16,})`)},
		{name: "github token", lits: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, re: regexp.MustCompile(`gh[pousr]_[A-Za-z0-9]{36,255}`)},
		{name: "github fine-grained token", lits: []string{"github_pat_"}, re: regexp.MustCompile(`github_pat_[A-Za-z0-9_]{22,255}`)},
		{name: "gitlab token", lits: []string{"glpat-"}, re: regexp.MustCompile(`glpat-[A-Za-z0-9_\-]{20,}`)},
		{name: "slack token", lits: []string{"xox"}, re: regexp.MustCompile(`xox[abposr]-[A-Za-z0-9\-]{10,}`)},
		{name: "slack webhook", lits: []string{"hooks.slack.com"}, re: regexp.MustCompile(`hooks\.slack\.com/services/[A-Za-z0-9/]+`)},
		{name: "stripe key", lits: []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"}, re: regexp.MustCompile(`[sr]k_(?:live|test)_[A-Za-z0-9]{10,}`)},
		{name: "openai or anthropic key", lits: []string{"sk-"}, re: regexp.MustCompile(`sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}`)},
		{name: "npm token", lits: []string{"npm_"}, re: regexp.MustCompile(`npm_[A-Za-z0-9]{36}`)},
		{name: "pypi token", lits: []string{"pypi-"}, re: regexp.MustCompile(`pypi-[A-Za-z0-9_\-]{50,}`)},
		{name: "sendgrid key", lits: []string{"SG."}, re: regexp.MustCompile(`SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}`)},
		{name: "twilio key", lits: []string{"SK"}, re: regexp.MustCompile(`SK[0-9a-fA-F]{32}\b`)},
		{name: "toolwarden api key", lits: []string{"tw_"}, re: regexp.MustCompile(`tw_[a-z2-7]{16}_[a-z2-7]{52}`)},
		{name: "hugging face token", lits: []string{"hf_"}, re: regexp.MustCompile(`hf_[A-Za-z0-9]{30,}`)},
		{name: "url password", lits: []string{"://"}, also: '@', re: regexp.MustCompile(`://[^/\s:@"']+:([^/\s@"']+)@`)},
	}
	for _, w := range secretNameWords {
		d = append(d, detector{name: "secret-named value", lits: []string{w}, fold: true,
			re: regexp.MustCompile(regexp.QuoteMeta(w) + valueAfterName)})
	}
	return d
}
