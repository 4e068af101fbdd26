package manifests_test

import (
	"fmt"
	"strings"

	"github.com/toolwarden/toolwarden/manifests"
	"github.com/toolwarden/toolwarden/manifests/strictjson"
)

func ExampleParseTool() {
	manifest := `
apiVersion: toolwarden.dev/v1
kind: Tool
name: http_fetch
version: 1.0.0
description: Fetch an HTTPS URL and return the body as text.
runtime:
  wasm: {module: http_fetch.wasm, sha256: "` + strings.Repeat("ab", 32) + `"}
inputSchema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  properties:
    url: {type: string, pattern: "^https://", maxLength: 2048}
    token: {type: string, sensitive: true}
  required: [url]
  additionalProperties: false
requires:
  egress: ["*.wikipedia.org:443"]
limits: {timeout: 5s, output: 256KiB}
`
	tool, err := manifests.ParseTool([]byte(manifest), "tools/http_fetch.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tool.Name, tool.Version, tool.RuntimeKind(), tool.Limits.Timeout, tool.Limits.Output)
	fmt.Println("sensitive:", tool.Schema().SensitivePointers())

	args, _ := strictjson.Decode([]byte(`{"url": "http://example.com", "extra": 1}`), strictjson.Limits{RejectCaseVariants: true})
	for _, v := range tool.Schema().Validate(args) {
		fmt.Printf("%s: %s\n", v.Pointer, v.Why)
	}

	_, err = manifests.ParseTool([]byte(strings.Replace(manifest, "timeout: 5s", "timeout: 5x", 1)), "tools/http_fetch.yaml")
	fmt.Println(err)
	// Output:
	// http_fetch 1.0.0 wasm 5s 256KiB
	// sensitive: [/token]
	// /extra: is not allowed
	// /url: Does not match pattern '^https://'
	// tools/http_fetch.yaml: limits.timeout: "5x" is not a duration
}

func ExampleCompileSchema() {
	_, err := manifests.CompileSchema([]byte(`{
		"type": "object",
		"properties": {
			"list": {"type": "array", "prefixItems": [{"type": "string"}]},
			"url": {"$ref": "https://example.com/url.json"}
		}
	}`))
	fmt.Println(err)
	// Output:
	// /properties/list/prefixItems: keyword "prefixItems" is not supported: the validator does not enforce it (use items with one schema for every element)
	// /properties/url/$ref: $ref "https://example.com/url.json" is not local: only references into this schema ("#/$defs/name") are allowed; remote schemas are never fetched
}
