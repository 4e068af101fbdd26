package toolwarden_test

import (
	"os"
	"strings"
	"testing"

	"github.com/toolwarden/toolwarden/broker/mcpserver"
)

// TestReadmeListsEveryReasonCode keeps README's table of reason codes
// true to mcpserver.Reasons, the one table of them.
func TestReadmeListsEveryReasonCode(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range mcpserver.Reasons {
		if !strings.Contains(readme, "`"+r.Code+"`") {
			t.Errorf("README.md does not list the reason code %q (%s)", r.Code, r.Meaning)
		}
	}
}
