package broker

import (
	"encoding/json"

	"github.com/toolwarden/toolwarden/manifests"
)

// redactArguments returns the JSON of args (decoded from raw) for the
// audit log, raw itself when nothing needs redacting: the values
// of arguments the tool's schema marks "sensitive": true and of
// secret-named members replaced by HMAC markers, and secret-looking
// substrings of other strings replaced too (see audit.Redactor). args is
// not modified.
//
// Roles cannot mark arguments sensitive: manifests refuses "sensitive" in
// a role's argument constraints, so the tool's schema is the one source.
func (b *Broker) redactArguments(raw []byte, args map[string]any, tool *manifests.Tool) json.RawMessage {
	return b.redactor.RedactArgumentsRaw(raw, args, b.programs[tool.Name].sensitive)
}
