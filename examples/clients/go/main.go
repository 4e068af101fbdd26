// Command client is a small MCP client for toolwarden, built on mcp-go's
// client: it connects over Streamable HTTP with an API key, lists the tools
// the key's roles grant, and calls one.
//
//	go run ./examples/clients/go -url http://127.0.0.1:8808/mcp -key "$KEY" \
//	    -tool echo -args '{"text":"hello"}'
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8808/mcp", "toolwarden's MCP endpoint")
	key := flag.String("key", os.Getenv("TOOLWARDEN_API_KEY"), "API key (default $TOOLWARDEN_API_KEY)")
	tool := flag.String("tool", "", "tool to call after listing (none: list only)")
	args := flag.String("args", "{}", "arguments of the call, a JSON object")
	flag.Parse()
	if err := run(*url, *key, *tool, *args); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(url, key, tool, rawArgs string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.NewStreamableHttpClient(url,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + key}))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "toolwarden-example", Version: "1.0.0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	fmt.Println("tools you may call:")
	for _, t := range tools.Tools {
		fmt.Printf("  %-10s %s\n", t.Name, t.Description)
	}
	if tool == "" {
		return nil
	}
	var arguments map[string]any
	if err := json.Unmarshal([]byte(rawArgs), &arguments); err != nil {
		return fmt.Errorf("-args: %w", err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = arguments
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("tools/call %s: %w", tool, err)
	}
	for _, content := range res.Content {
		if text, ok := content.(mcp.TextContent); ok {
			fmt.Println(text.Text)
		}
	}
	if res.IsError {
		return fmt.Errorf("tools/call %s: tool error", tool)
	}
	return nil
}
