package screen

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// Flags a screened result can carry, in the call's audit record and the
// result's _meta.
const (
	FlagSecret        = "output_secret"         // a secret the broker injected into the tool came back in its result
	FlagSecretPattern = "output_secret_pattern" // a string shaped like a secret (token, key) was in the result
	FlagHidden        = "output_hidden_unicode" // Unicode tag characters, zero-width or bidi controls
	FlagANSI          = "output_ansi_escape"    // terminal escape sequences
	FlagInstruction   = "output_instruction"    // phrases that try to override the model's instructions
	FlagRoleToken     = "output_role_token"     // chat-template role or system tokens
	FlagURLs          = "output_urls_removed"   // URLs removed by policy
)

// Reason codes of screening.
const (
	CodeRedacted = "output.redacted" // secrets were cut from the result; it was returned without them
	CodeFlagged  = "output.flagged"  // the result looks like a prompt injection; it was returned, annotated
	CodeBlocked  = "output.blocked"  // the result looks like a prompt injection and the role blocks such results
)

// Modes of Policy.Injection.
const (
	Flag  = "flag"
	Strip = "strip"
	Block = "block"
)

// Policy is how one grant screens results.
type Policy struct {
	// Injection is Flag (the zero value means Flag), Strip or Block.
	Injection string
	// StripURLs replaces http(s) URLs in the result's strings.
	StripURLs bool
}

// redactor is what screening needs of the audit redactor: the same
// detectors and markers.
type redactor interface {
	Text(s string) string
	Marker(secret string) string
}

// Verdict is what screening did to a result.
type Verdict struct {
	// Result is the result to return: the input itself when nothing was
	// changed.
	Result []byte
	// Flags says what was found, sorted.
	Flags []string
	// Code is CodeRedacted when something was cut, else CodeFlagged when
	// something was found, else "".
	Code string
}

// ErrBlocked is returned when a Block policy refuses a result.
var ErrBlocked = errors.New("the tool's result looks like a prompt injection and the role blocks such results")

// Result screens a tool's result (one JSON value) under p: it cuts out
// every value of secrets (the secrets the broker injected into the call)
// and every secret-looking string the audit redaction would find,
// replacing them with the redactor's markers, and looks for prompt
// injection: instruction-override phrases, chat-template role tokens,
// hidden Unicode and terminal escapes. What it finds is flagged; under
// Strip hidden characters and escapes are removed and phrases replaced;
// under Block a finding fails with ErrBlocked. With StripURLs, URLs are
// replaced too.
//
// # Notes
//
// A result with nothing to find is returned as it is, byte for byte,
// after one scan of its bytes. The broker never acts on tool output: this
// only changes what is returned and recorded.
func Result(out []byte, p Policy, secrets []string, red redactor) (Verdict, error) {
	v := Verdict{Result: out}
	if !suspect(out, p, secrets, red) {
		return v, nil
	}
	val, err := strictjson.Decode(out, strictjson.Limits{MaxBytes: len(out) + 1, MaxDepth: 10000})
	if err != nil {
		return v, err
	}
	s := &screener{p: p, secrets: liveSecrets(secrets), red: red, flags: map[string]bool{}}
	val = s.value(val)
	if len(s.flags) == 0 {
		return v, nil
	}
	for f := range s.flags {
		v.Flags = append(v.Flags, f)
	}
	slices.Sort(v.Flags)
	injection := s.flags[FlagHidden] || s.flags[FlagANSI] || s.flags[FlagInstruction] || s.flags[FlagRoleToken]
	if injection && p.Injection == Block {
		return Verdict{Flags: v.Flags, Code: CodeBlocked}, ErrBlocked
	}
	if s.changed {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(val); err != nil {
			return v, err
		}
		v.Result = bytes.TrimRight(buf.Bytes(), "\n")
	}
	switch {
	case s.flags[FlagSecret] || s.flags[FlagSecretPattern]:
		v.Code = CodeRedacted
	case injection:
		v.Code = CodeFlagged
	}
	return v, nil
}

// minSecretBytes is the shortest injected secret value screened for: a
// shorter one would match too much to mean anything.
const minSecretBytes = 6

func liveSecrets(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) >= minSecretBytes {
			out = append(out, s)
		}
	}
	// Longest first, so that a secret containing another is cut whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// suspect is the fast scan: false means the result certainly holds
// nothing to screen.
func suspect(out []byte, p Policy, secrets []string, red redactor) bool {
	if p.StripURLs && (bytes.Contains(out, []byte("http://")) || bytes.Contains(out, []byte("https://")) || bytes.Contains(out, []byte(`http:\/\/`)) || bytes.Contains(out, []byte(`https:\/\/`))) {
		return true
	}
	for _, s := range liveSecrets(secrets) {
		if bytes.Contains(out, []byte(s)) {
			return true
		}
		if enc, err := json.Marshal(s); err == nil && bytes.Contains(out, enc[1:len(enc)-1]) {
			return true
		}
	}
	// Escapes may spell anything, and bytes above ASCII may be hidden
	// characters: those results are read in full.
	if bytes.Contains(out, []byte(`\u`)) || bytes.IndexByte(out, 0x1b) >= 0 || hasHighBytes(out) {
		return true
	}
	if injectionRE().Match(out) {
		return true
	}
	return red.Text(string(out)) != string(out)
}

func hasHighBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// injectionRE matches instruction-override phrases and chat-template role
// tokens, case-insensitively.
var injectionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + strings.Join(append(slices.Clone(instructionPhrases), roleTokens...), "|"))
})

// instructionPhrases are the usual ways text tries to take over a model.
var instructionPhrases = []string{
	`ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|prompts?|messages?|rules)`,
	`disregard (?:all |any )?(?:the )?(?:previous|prior|above|earlier|your) (?:instructions|prompts?|rules|guidelines)`,
	`forget (?:all |everything )?(?:your|the|previous|prior) (?:instructions|rules|guidelines)`,
	`new (?:system )?instructions?:`,
	`you are now (?:in )?(?:a |an )?(?:developer|dan|jailbroken|unrestricted|different)`,
	`(?:reveal|print|show|output) (?:your|the) (?:system prompt|hidden instructions|instructions)`,
	`override (?:your|the|all) (?:instructions|safety|rules|guidelines)`,
	`do not (?:tell|inform) the user`,
}

// roleTokens are chat-template markers a tool has no reason to emit.
var roleTokens = []string{
	`<\|im_start\|>`, `<\|im_end\|>`, `<\|system\|>`, `<\|assistant\|>`, `<\|user\|>`, `<\|endoftext\|>`,
	`\[INST\]`, `\[/INST\]`, `<<SYS>>`, `<</SYS>>`,
	`</?system>`, `</?assistant>`, `\n\s*(?:system|assistant)\s*:`, `###\s*(?:system|instruction)\s*:`,
}

var roleTokenRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + strings.Join(roleTokens, "|"))
})

var instructionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + strings.Join(instructionPhrases, "|"))
})

var urlRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>\x60]+`)
})

// ansiRE matches terminal escape sequences: CSI, OSC and single-character
// escapes.
var ansiRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile("\x1b(?:\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|[@-Z\\\\-_])|\u009b[0-?]*[ -/]*[@-~]")
})

// hidden reports a rune no reader sees: Unicode tag characters, zero-width
// characters and joiners, bidirectional controls, the byte order mark.
func hidden(r rune) bool {
	switch {
	case r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2069, r == 0xFEFF, r == 0x180E, r == 0x061C:
		return true
	}
	return false
}

// screener walks one decoded result.
type screener struct {
	p       Policy
	secrets []string
	red     redactor
	flags   map[string]bool
	changed bool
}

func (s *screener) value(v any) any {
	switch x := v.(type) {
	case string:
		return s.str(x)
	case []any:
		for i := range x {
			x[i] = s.value(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			k2 := s.str(k)
			out[k2] = s.value(e)
		}
		return out
	}
	return v
}

func (s *screener) str(in string) string {
	out := in
	for _, sec := range s.secrets {
		if strings.Contains(out, sec) {
			out = strings.ReplaceAll(out, sec, s.red.Marker(sec))
			s.flags[FlagSecret] = true
		}
	}
	if t := s.red.Text(out); t != out {
		out = t
		s.flags[FlagSecretPattern] = true
	}
	if strings.ContainsFunc(out, hidden) {
		s.flags[FlagHidden] = true
		if s.p.Injection == Strip {
			out = strings.Map(func(r rune) rune {
				if hidden(r) {
					return -1
				}
				return r
			}, out)
		}
	}
	if ansiRE().MatchString(out) {
		s.flags[FlagANSI] = true
		if s.p.Injection == Strip {
			out = ansiRE().ReplaceAllString(out, "")
		}
	}
	if instructionRE().MatchString(out) {
		s.flags[FlagInstruction] = true
		if s.p.Injection == Strip {
			out = instructionRE().ReplaceAllString(out, "[instruction-like text removed]")
		}
	}
	if roleTokenRE().MatchString(out) {
		s.flags[FlagRoleToken] = true
		if s.p.Injection == Strip {
			out = roleTokenRE().ReplaceAllString(out, "[role token removed]")
		}
	}
	if s.p.StripURLs && urlRE().MatchString(out) {
		s.flags[FlagURLs] = true
		out = urlRE().ReplaceAllString(out, "[url removed]")
	}
	if out != in {
		s.changed = true
	}
	return out
}
