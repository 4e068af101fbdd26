package broker

import (
	"encoding/json"

	"github.com/toolwarden/toolwarden/manifests"
)

// redactArguments returns the JSON of args for the audit log: the values
// of arguments the tool's schema marks "sensitive": true and of
// secret-named members replaced by HMAC markers, and secret-looking
// substrings of other strings replaced too (see audit.Redactor). args is
// not modified.
//
// Roles cannot mark arguments sensitive: manifests refuses "sensitive" in
// a role's argument constraints, so the tool's schema is the one source.
func (b *Broker) redactArguments(args map[string]any, tool *manifests.Tool) json.RawMessage {
	return b.redactor.RedactArguments(args, tool.Schema().SensitivePointers())
}
