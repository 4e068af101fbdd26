#!/usr/bin/env bash
# make run: serve the quickstart over Streamable HTTP with a ready API key.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../../build/toolwarden}")
cfg=$here/toolwarden.yaml
state=$here/.toolwarden
mkdir -p "$state"
chmod 700 "$state"

# One analyst key, made once. The keys file keeps only its hash; the key itself is kept
# here (mode 0600) so the quickstart can print it again. Don't do this outside a demo.
keyfile=$state/analyst.key
if [ ! -s "$keyfile" ]; then
  (umask 077; "$bin" keys add --config "$cfg" --tenant demo --subject alice --roles analyst --expires 720h >"$keyfile")
fi
key=$(cat "$keyfile")
# The audit log's checkpoint-signing and HMAC keys, made once (never overwritten).
[ -s "$here/audit-signing.key" ] || "$bin" keys audit-init --config "$cfg" >/dev/null
url=http://127.0.0.1:8808/mcp

cat <<INFO
toolwarden quickstart
  endpoint   $url
  API key    $key   (tenant demo, subject alice, role analyst)
  audit log  $here/audit.log

Try it from another terminal:
  go run ./examples/clients/go -url $url -key $key -tool echo -args '{"text":"hello"}'
  go run ./examples/clients/go -url $url -key $key -tool jq -args '{"filter":"..","input":{}}'   # denied: role constraint
  go run ./examples/clients/go -url $url -key $key -tool fsread -args '{"path":"/data/notes","op":"list"}'
  go run ./examples/clients/go -url $url -key $key -tool fsread -args '{"path":"/data/../../etc/passwd"}'   # refused, and in the audit log
  $bin audit verify $here/audit.log

MCP host configuration (Streamable HTTP):
  {"mcpServers": {"toolwarden": {"type": "http", "url": "$url",
    "headers": {"Authorization": "Bearer $key"}}}}

MCP host configuration (stdio):
  {"mcpServers": {"toolwarden": {"command": "$bin",
    "args": ["serve", "--stdio", "--config", "$cfg"],
    "env": {"TOOLWARDEN_API_KEY": "$key"}}}}

INFO
exec "$bin" serve --config "$cfg"
