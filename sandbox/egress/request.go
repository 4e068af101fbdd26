package egress

import (
	"fmt"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

// maxRequestDepth bounds nesting in a request: {"headers":{"k":["v"]}} is 3.
const maxRequestDepth = 8

// DecodeRequest decodes one egress ABI v1 request strictly (see
// strictjson.Unmarshal): one JSON object with exactly the member names of
// [Request], case-sensitive, each at most once; no two header names that
// differ only in case (they are one header given twice, and which value won
// would be up to the transport); valid UTF-8; nothing after the object. Its
// messages are safe to show the tool.
func DecodeRequest(data []byte) (Request, error) {
	var req Request
	if err := strictjson.Unmarshal(data, &req, strictjson.Limits{MaxBytes: len(data), MaxDepth: maxRequestDepth}); err != nil {
		return Request{}, fmt.Errorf("the request is not valid: %w", err)
	}
	return req, nil
}
