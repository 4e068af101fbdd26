package strictjson_test

import (
	"fmt"

	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

func ExampleCheck() {
	lim := strictjson.Limits{RejectCaseVariants: true}
	for _, doc := range []string{
		`{"method": "tools/call", "params": {"name": "echo"}}`,
		`{"method": "tools/call", "params": {"name": "echo", "name": "rm"}}`,
		`{"method": "tools/call", "Method": "tools/list"}`,
		`{"text": "\ud800"}`,
	} {
		err := strictjson.Check([]byte(doc), lim)
		if err == nil {
			fmt.Println("ok")
			continue
		}
		e := err.(*strictjson.Error)
		fmt.Printf("%s: %v\n", e.ReasonCode(), err)
	}
	// Output:
	// ok
	// json.duplicate_key: duplicate key "name" at /params (offset 52)
	// json.case_variant_key: key "Method" is a case variant of key "method" (offset 25)
	// json.utf8: escaped lone surrogate \ud800 in string at /text (offset 10)
}
