package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/toolwarden/toolwarden/broker/policy"
	"github.com/toolwarden/toolwarden/manifests"
)

// fileConfig is toolwarden.yaml. Relative paths are relative to the file's
// directory.
type fileConfig struct {
	// Manifests is the directory of tool and role manifests, or a list of
	// directories loaded as one set. Required.
	Manifests dirList `yaml:"manifests"`
	// Audit configures the invocation log.
	Audit auditConfig `yaml:"audit"`
	// Cache is the wazero compilation cache directory; "" means
	// <config dir>/.toolwarden/cache.
	Cache string `yaml:"cache"`
	// Keys is the API keys file; "" means <config dir>/keys.json.
	Keys string `yaml:"keys"`
	// KillSwitch is the kill switch file; "" means none.
	KillSwitch string `yaml:"killSwitch"`
	// Limits are defaults for limits no manifest sets.
	Limits manifests.Limits `yaml:"limits"`
	// MaxArgumentBytes caps call arguments; absent means 1 MiB.
	MaxArgumentBytes manifests.Size `yaml:"maxArgumentBytes"`
	// MaxConcurrentPerTenant caps calls in flight per tenant; absent means 32.
	MaxConcurrentPerTenant int `yaml:"maxConcurrentPerTenant"`
	// Secrets maps a secret name to the file holding its value.
	Secrets map[string]string `yaml:"secrets"`
	// HTTP configures the Streamable HTTP front door.
	HTTP httpConfig `yaml:"http"`
	// JWT enables OIDC/JWT bearer tokens.
	JWT *jwtConfig `yaml:"jwt"`

	dir string
}

type auditConfig struct {
	// Path is the audit log file; "" means <config dir>/audit.log.
	Path string `yaml:"path"`
	// RotateSize is the size at which the log file is rotated; absent
	// means 64MiB.
	RotateSize manifests.Size `yaml:"rotateSize"`
	// CheckpointEvery is the number of records between signed
	// checkpoints; absent means 1000.
	CheckpointEvery int `yaml:"checkpointEvery"`
	// CheckpointInterval is the longest a record waits for a checkpoint;
	// absent means 1m.
	CheckpointInterval manifests.Duration `yaml:"checkpointInterval"`
	// Origin names the log in its checkpoints; "" means the existing
	// checkpoints' origin, or else the log's absolute path.
	Origin string `yaml:"origin"`
	// SigningKey is the ed25519 checkpoint key (keys audit-init writes it);
	// "" means <config dir>/audit-signing.key, and no checkpoints if that
	// file does not exist.
	SigningKey string `yaml:"signingKey"`
	// PublicKey is the key audit verify checks checkpoints with; "" means
	// <config dir>/audit-signing.pub.
	PublicKey string `yaml:"publicKey"`
	// HMACKey is the key of the redaction markers; "" means
	// <config dir>/audit-hmac.key, and a per-process random key if that
	// file does not exist.
	HMACKey string `yaml:"hmacKey"`
}

type httpConfig struct {
	// Listen is the address; "" means 127.0.0.1:8808.
	Listen string `yaml:"listen"`
	// AllowedOrigins lists browser origins allowed to call; empty means none.
	AllowedOrigins []string `yaml:"allowedOrigins"`
	// MaxBodyBytes caps a request body; absent means 4 MiB.
	MaxBodyBytes manifests.Size `yaml:"maxBodyBytes"`
	// SessionIdle expires idle sessions; absent means 30m.
	SessionIdle manifests.Duration `yaml:"sessionIdle"`
	// ResourceURL is this server's public URL for RFC 9728 metadata;
	// "" means http://LISTEN/mcp.
	ResourceURL string `yaml:"resourceURL"`
}

type jwtConfig struct {
	Issuer       string             `yaml:"issuer"`
	Audience     string             `yaml:"audience"`
	JWKSFile     string             `yaml:"jwksFile"`
	JWKSURL      string             `yaml:"jwksURL"`
	Algorithms   []string           `yaml:"algorithms"`
	MaxLifetime  manifests.Duration `yaml:"maxLifetime"`
	Skew         manifests.Duration `yaml:"skew"`
	TenantClaim  string             `yaml:"tenantClaim"`
	SubjectClaim string             `yaml:"subjectClaim"`
	RolesClaim   string             `yaml:"rolesClaim"`
}

// loadConfig reads and strictly decodes a toolwarden.yaml.
func loadConfig(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField(), yaml.UseJSONUnmarshaler())
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
	}
	if len(c.Manifests) == 0 || slices.Contains(c.Manifests, "") {
		return nil, fmt.Errorf("config %s: manifests: required (a directory, or a list of them)", path)
	}
	if c.MaxConcurrentPerTenant < 0 {
		return nil, fmt.Errorf("config %s: maxConcurrentPerTenant: must be positive", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.dir = filepath.Dir(abs)
	return &c, nil
}

// path resolves p against the config's directory; "" gives def resolved.
func (c *fileConfig) path(p, def string) string {
	if p == "" {
		p = def
	}
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// manifestsDirs returns the manifest directories, resolved.
func (c *fileConfig) manifestsDirs() []string {
	out := make([]string, len(c.Manifests))
	for i, d := range c.Manifests {
		out[i] = c.path(d, "")
	}
	return out
}

// dirList is a directory or a list of directories in YAML.
type dirList []string

// UnmarshalYAML takes a string or a list of strings.
func (d *dirList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*d = dirList{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return errors.New("want a directory or a list of directories")
	}
	*d = many
	return nil
}

func (c *fileConfig) auditPath() string { return c.path(c.Audit.Path, "audit.log") }
func (c *fileConfig) cacheDir() string  { return c.path(c.Cache, ".toolwarden/cache") }
func (c *fileConfig) keysPath() string  { return c.path(c.Keys, "keys.json") }

// policyConfig is the policy configuration of set under c: the default
// limits and the argument cap.
func (c *fileConfig) policyConfig(set *manifests.Set) policy.Config {
	return policy.Config{
		Set: set,
		Limits: policy.Limits{
			Timeout:     time.Duration(c.Limits.Timeout),
			MemoryBytes: int64(c.Limits.Memory),
			OutputBytes: int64(c.Limits.Output),
		},
		MaxArgumentBytes: int(c.MaxArgumentBytes),
	}
}

// secrets reads every configured secret file.
func (c *fileConfig) secrets() (map[string]string, error) {
	out := make(map[string]string, len(c.Secrets))
	for name, file := range c.Secrets {
		data, err := os.ReadFile(c.path(file, ""))
		if err != nil {
			return nil, fmt.Errorf("config: secret %q: %w", name, err)
		}
		out[name] = string(bytes.TrimRight(data, "\r\n"))
	}
	return out, nil
}
