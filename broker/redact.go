package broker

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/toolwarden/toolwarden/manifests"
)

// Redacted replaces a secret argument value in the audit log.
const Redacted = "[REDACTED]"

// secretNames are argument names whose values are never logged, whatever the
// schema says.
var secretNames = []string{"password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "private_key", "access_key", "client_secret"}

// redact returns the JSON of args for the audit log with the values of
// schema-marked sensitive arguments and secret-named fields replaced by
// [Redacted]. args is not modified.
func redact(args map[string]any, s *manifests.Schema) json.RawMessage {
	var sensitive []string
	if s != nil {
		sensitive = s.SensitivePointers()
	}
	v := redactValue(args, "", sensitive)
	out, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`"[unloggable]"`)
	}
	return out
}

func redactValue(v any, ptr string, sensitive []string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			p := ptr + "/" + escapePointer(k)
			if slices.Contains(sensitive, p) || isSecretName(k) {
				out[k] = Redacted
				continue
			}
			out[k] = redactValue(val, p, sensitive)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = redactValue(val, ptr+"/-", sensitive)
		}
		return out
	default:
		return v
	}
}

func isSecretName(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretNames {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
