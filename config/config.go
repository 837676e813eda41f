// Package config reads kefu's settings from an optional kefu.yaml and the
// KEFU_* environment (which wins), validates them, and renders them with
// secrets masked. Only cmd imports it: it copies values into each package's
// Options.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("config: invalid")

// Lane configures one priority lane; lanes not configured keep their
// defaults.
type Lane struct {
	Name    string        `yaml:"name"`
	Title   string        `yaml:"title"`
	TitleEN string        `yaml:"title_en"`
	SLA     time.Duration `yaml:"sla"`
	Order   int           `yaml:"order"`
}

// Config is every setting of kefu.
type Config struct {
	HTTPAddr    string
	PprofAddr   string // empty: no profiling listener
	DataDir     string
	RedisURL    string // empty: embedded store
	RedisPrefix string

	WeChatAppID       string
	WeChatAppSecret   string
	WeChatToken       string
	WeChatAESKeys     []string // current key first, then the previous one
	WeChatAPIBase     string
	WeChatStableToken bool
	// WeChatAllowPlaintext accepts plaintext POSTs although AES keys are
	// set (refused by default: their signature does not cover the body).
	WeChatAllowPlaintext bool

	AdminPassword string
	// TrustedProxies are the addresses (IPs or CIDRs) whose
	// X-Forwarded-For is believed for the client address; empty: none,
	// the connection's address counts (sign-in limits per address rely
	// on it).
	TrustedProxies []string

	LogLevel  string
	LogFormat string

	FailLimit  int
	TurnBudget time.Duration
	// SessionWriteDelay is how long the embedded store may hold a saved
	// session in memory before writing it (bot/sqlitestore.Options).
	SessionWriteDelay time.Duration
	MatchThreshold    float64 // 0: the knowledge base's default
	RulesFile         string  // empty: the built-in rules
	KBFile            string  // empty: the built-in knowledge base
	RepeatLimit       int
	// AutoAssign hands waiting tickets to the least busy online agent
	// with the lane (handoff.Assigner); off: agents use claim-next.
	AutoAssign bool
	// The session timeouts of DESIGN §2: an agent silent for AgentTimeout
	// returns the ticket to the queue; a user silent for UserTimeout with
	// an agent, or a ticket QueueTimeout in the queue, closes it.
	AgentTimeout time.Duration
	UserTimeout  time.Duration
	QueueTimeout time.Duration

	// The customer-service send window (WECHAT.md §5): after a user
	// message, CSLimit sends within CSWindow; after a menu click, follow
	// or scan, CSEventLimit within CSEventWindow.
	CSWindow      time.Duration
	CSLimit       int
	CSEventWindow time.Duration
	CSEventLimit  int

	EmbedBaseURL string // empty: lexical matching only
	EmbedAPIKey  string
	EmbedModel   string
	EmbedWeight  float64       // share of the semantic score in a fused score
	EmbedTimeout time.Duration // longest wait for a question's embedding

	// The self-service flows (intents/flows).
	FlowsDir          string        // empty: the built-in flows only
	FlowActions       string        // "action=https://…,…"; parsed by flows.ParseActionURLs
	FlowSecret        string        // HMAC secret of the action calls
	FlowActionTimeout time.Duration // one action call, retries included
	FlowIdle          time.Duration // a flow waiting this long for an answer expires

	Lanes []Lane
}

// option is one setting: its name in kefu.yaml (KEFU_ + upper case in the
// environment), default, meaning, and how to apply a value.
type option struct {
	name   string
	def    string
	secret bool
	usage  string
	set    func(c *Config, v string) error
}

var options = []option{
	{name: "http_addr", def: ":8080", usage: "address the HTTP server listens on",
		set: func(c *Config, v string) error { c.HTTPAddr = v; return nonEmpty(v) }},
	{name: "pprof_addr", usage: "address of a separate listener serving /debug/pprof (keep it private); empty = off",
		set: func(c *Config, v string) error { c.PprofAddr = v; return nil }},
	{name: "data_dir", def: "./data", usage: "directory of the embedded store (SQLite file)",
		set: func(c *Config, v string) error { c.DataDir = v; return nonEmpty(v) }},
	{name: "redis_url", usage: "Redis URL (redis://host:port/db); empty = embedded store, one instance",
		set: func(c *Config, v string) error {
			c.RedisURL = v
			if v != "" && !strings.HasPrefix(v, "redis://") && !strings.HasPrefix(v, "rediss://") && !strings.HasPrefix(v, "unix://") {
				return errors.New("must start with redis://, rediss:// or unix://")
			}
			return nil
		}},
	{name: "redis_prefix", def: "kefu:", usage: "prefix of every Redis key",
		set: func(c *Config, v string) error { c.RedisPrefix = v; return nil }},
	{name: "wechat_app_id", usage: "official account AppID (wx…)",
		set: func(c *Config, v string) error { c.WeChatAppID = v; return nil }},
	{name: "wechat_app_secret", secret: true, usage: "official account AppSecret (for the customer-service API)",
		set: func(c *Config, v string) error { c.WeChatAppSecret = v; return nil }},
	{name: "wechat_token", def: "kefu", secret: true, usage: "server configuration Token (signature)",
		set: func(c *Config, v string) error { c.WeChatToken = v; return nonEmpty(v) }},
	{name: "wechat_aes_key", secret: true, usage: "EncodingAESKey (43 characters); empty = plaintext mode only",
		set: func(c *Config, v string) error { return c.addAESKey(v, 0) }},
	{name: "wechat_aes_key_previous", secret: true, usage: "the previous EncodingAESKey, accepted during key rotation",
		set: func(c *Config, v string) error { return c.addAESKey(v, 1) }},
	{name: "wechat_api_base", def: "https://api.weixin.qq.com", usage: "base URL of the WeChat server API (tests and proxies override it)",
		set: func(c *Config, v string) error {
			c.WeChatAPIBase = strings.TrimRight(v, "/")
			if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				return errors.New("must be an http(s) URL")
			}
			return nil
		}},
	{name: "wechat_stable_token", def: "false", usage: "use /cgi-bin/stable_token (recommended with several instances)",
		set: func(c *Config, v string) (err error) { c.WeChatStableToken, err = strconv.ParseBool(v); return err }},
	{name: "wechat_allow_plaintext", def: "false", usage: "with an AES key set, still accept plaintext messages (only while switching modes)",
		set: func(c *Config, v string) (err error) { c.WeChatAllowPlaintext, err = strconv.ParseBool(v); return err }},
	{name: "admin_password", secret: true, usage: "password of the first admin account (username admin)",
		set: func(c *Config, v string) error { c.AdminPassword = v; return nil }},
	{name: "trusted_proxies", usage: "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed; empty = none",
		set: func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if _, err := netip.ParsePrefix(p); err != nil {
					if _, err := netip.ParseAddr(p); err != nil {
						return fmt.Errorf("%q is neither an IP nor a CIDR", p)
					}
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		}},
	{name: "log_level", def: "info", usage: "debug, info, warn or error (message bodies only at debug)",
		set: func(c *Config, v string) error {
			c.LogLevel = v
			return oneOf(v, "debug", "info", "warn", "error")
		}},
	{name: "log_format", def: "text", usage: "text or json",
		set: func(c *Config, v string) error { c.LogFormat = v; return oneOf(v, "text", "json") }},
	{name: "fail_limit", def: "3", usage: "consecutive failed turns before a handoff",
		set: func(c *Config, v string) (err error) { c.FailLimit, err = positiveInt(v); return err }},
	{name: "turn_budget", def: "4s", usage: "time to answer before replying success and sending through the customer-service API (WeChat waits 5 s)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil && (d <= 0 || d > 4800*time.Millisecond) {
				err = errors.New("must be between 0 and 4.8s")
			}
			c.TurnBudget = d
			return err
		}},
	{name: "session_write_delay", def: "10ms", usage: "embedded store: how long a saved bot session may wait in memory to be written with others (a crash loses at most this much of it); 0 = written before the reply",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil && (d < 0 || d > time.Second) {
				err = errors.New("must be between 0 and 1s")
			}
			c.SessionWriteDelay = d
			return err
		}},
	{name: "match_threshold", def: "0", usage: "least FAQ score that counts as answered (0 = the built-in default)",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil && (f < 0 || f > 1) {
				err = errors.New("must be between 0 and 1")
			}
			c.MatchThreshold = f
			return err
		}},
	{name: "embed_base_url", usage: "OpenAI-compatible embeddings API for semantic matching (https://api.openai.com/v1, http://localhost:11434/v1 for Ollama); empty = lexical matching only",
		set: func(c *Config, v string) error {
			c.EmbedBaseURL = strings.TrimRight(v, "/")
			if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				return errors.New("must be an http(s) URL")
			}
			return nil
		}},
	{name: "embed_api_key", secret: true, usage: "API key of the embeddings API (empty for a local server)",
		set: func(c *Config, v string) error { c.EmbedAPIKey = v; return nil }},
	{name: "embed_model", def: "text-embedding-3-small", usage: "embedding model",
		set: func(c *Config, v string) error { c.EmbedModel = v; return nonEmpty(v) }},
	{name: "embed_weight", def: "0.5", usage: "share of the semantic score in a match's score, above 0 and at most 1",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil && (f <= 0 || f > 1) {
				err = errors.New("must be above 0 and at most 1 (to match lexically only, leave KEFU_EMBED_BASE_URL empty)")
			}
			c.EmbedWeight = f
			return err
		}},
	{name: "embed_timeout", def: "800ms", usage: "longest wait for a question's embedding before answering lexically; below the turn budget",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil && d <= 0 {
				err = errors.New("must be positive")
			}
			c.EmbedTimeout = d
			return err
		}},
	{name: "rules_file", usage: "routing rules YAML (urgent lanes, requests for a person); empty = built-in",
		set: func(c *Config, v string) error { c.RulesFile = v; return nil }},
	{name: "kb_file", usage: "knowledge base JSON; empty = the built-in default KB",
		set: func(c *Config, v string) error { c.KBFile = v; return nil }},
	{name: "repeat_limit", def: "3", usage: "tickets a user may open in 12 h before being pointed to the latest",
		set: func(c *Config, v string) (err error) { c.RepeatLimit, err = positiveInt(v); return err }},
	{name: "auto_assign", def: "false", usage: "hand waiting tickets to the least busy online agent serving the lane, within capacity; false = agents use claim-next",
		set: func(c *Config, v string) (err error) { c.AutoAssign, err = strconv.ParseBool(v); return err }},
	{name: "agent_timeout", def: "30m", usage: "an agent silent this long after the user wrote returns the ticket to the queue",
		set: func(c *Config, v string) (err error) { c.AgentTimeout, err = positiveDuration(v); return err }},
	{name: "user_timeout", def: "30m", usage: "a user silent this long after the agent's reply has the ticket closed, and is told",
		set: func(c *Config, v string) (err error) { c.UserTimeout, err = positiveDuration(v); return err }},
	{name: "queue_timeout", def: "24h", usage: "a ticket waiting in its queue this long is closed, and the user told",
		set: func(c *Config, v string) (err error) { c.QueueTimeout, err = positiveDuration(v); return err }},
	{name: "cs_window", def: "48h", usage: "how long after a user message the customer-service API may reach them",
		set: func(c *Config, v string) (err error) { c.CSWindow, err = positiveDuration(v); return err }},
	{name: "cs_limit", def: "5", usage: "customer-service messages allowed within cs_window of a user message",
		set: func(c *Config, v string) (err error) { c.CSLimit, err = positiveInt(v); return err }},
	{name: "cs_event_window", def: "1m", usage: "how long after a menu click, follow or QR scan the customer-service API may reach the user",
		set: func(c *Config, v string) (err error) { c.CSEventWindow, err = positiveDuration(v); return err }},
	{name: "cs_event_limit", def: "3", usage: "customer-service messages allowed within cs_event_window of a menu click, follow or scan",
		set: func(c *Config, v string) (err error) { c.CSEventLimit, err = positiveInt(v); return err }},
	{name: "flows_dir", usage: "directory of flow definitions (*.yaml, *.json) added to the built-in flows; a flow with a built-in's id replaces it",
		set: func(c *Config, v string) error { c.FlowsDir = v; return nil }},
	{name: "flow_actions", usage: "business backend of the flows: action=https://url,… (one URL per action); actions without a URL are recorded as cases for agents",
		set: func(c *Config, v string) error { c.FlowActions = v; return nil }},
	{name: "flow_secret", secret: true, usage: "shared secret of the HMAC-SHA256 signature on flow action calls (required with flow_actions)",
		set: func(c *Config, v string) error { c.FlowSecret = v; return nil }},
	{name: "flow_action_timeout", def: "2500ms", usage: "longest a flow action call may take, retries included; below the turn budget",
		set: func(c *Config, v string) (err error) { c.FlowActionTimeout, err = positiveDuration(v); return err }},
	{name: "flow_idle", def: "30m", usage: "a flow waiting this long for the user's answer expires",
		set: func(c *Config, v string) (err error) { c.FlowIdle, err = positiveDuration(v); return err }},
}

func (c *Config) addAESKey(v string, i int) error {
	if v == "" {
		return nil
	}
	if len(v) != 43 {
		return fmt.Errorf("must be 43 characters, got %d", len(v))
	}
	for len(c.WeChatAESKeys) <= i {
		c.WeChatAESKeys = append(c.WeChatAESKeys, "")
	}
	c.WeChatAESKeys[i] = v
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func positiveInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && n <= 0 {
		err = errors.New("must be a positive integer")
	}
	return n, err
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = errors.New("must be positive")
	}
	return d, err
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}

func envName(name string) string { return "KEFU_" + strings.ToUpper(name) }

// Load reads the configuration: defaults, then the YAML file at path (if it
// exists; an explicitly named file must exist), then the environment.
// KEFU_X_FILE reads a secret from a file. Unknown keys and unknown KEFU_*
// variables are errors, so a typo fails at start.
func Load(path string, explicit bool, environ []string) (*Config, error) {
	values := map[string]string{}
	for _, o := range options {
		values[o.name] = o.def
	}
	var lanes []Lane
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if lanes, err = readYAML(path, data, values); err != nil {
				return nil, err
			}
		case !explicit && errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	known := map[string]bool{"KEFU_CONFIG": true}
	setting := map[string]bool{} // names of settings, some of which end in _FILE themselves
	for _, o := range options {
		known[envName(o.name)] = true
		known[envName(o.name)+"_FILE"] = true
		setting[envName(o.name)] = true
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "KEFU_") || strings.HasPrefix(k, "KEFU_TEST_") || strings.HasPrefix(k, "KEFU_E2E_") {
			continue
		}
		if !known[k] {
			return nil, fmt.Errorf("%w: unknown setting %s (see the README's configuration table)", ErrInvalid, k)
		}
		if name, ok := strings.CutSuffix(k, "_FILE"); ok && !setting[k] {
			secret, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, k, err)
			}
			values[strings.ToLower(strings.TrimPrefix(name, "KEFU_"))] = strings.TrimSpace(string(secret))
			continue
		}
		values[strings.ToLower(strings.TrimPrefix(k, "KEFU_"))] = v
	}
	c := &Config{Lanes: lanes}
	for _, o := range options {
		if err := o.set(c, values[o.name]); err != nil {
			return nil, fmt.Errorf("%w: %s=%q: %v", ErrInvalid, envName(o.name), mask(o, values[o.name]), err)
		}
	}
	if len(c.WeChatAESKeys) > 0 && c.WeChatAESKeys[0] == "" {
		return nil, fmt.Errorf("%w: KEFU_WECHAT_AES_KEY_PREVIOUS is set without KEFU_WECHAT_AES_KEY", ErrInvalid)
	}
	if c.EmbedBaseURL != "" && c.EmbedTimeout >= c.TurnBudget {
		return nil, fmt.Errorf("%w: KEFU_EMBED_TIMEOUT=%s must be below KEFU_TURN_BUDGET=%s", ErrInvalid, c.EmbedTimeout, c.TurnBudget)
	}
	if c.FlowActions != "" && c.FlowActionTimeout >= c.TurnBudget {
		return nil, fmt.Errorf("%w: KEFU_FLOW_ACTION_TIMEOUT=%s must be below KEFU_TURN_BUDGET=%s", ErrInvalid, c.FlowActionTimeout, c.TurnBudget)
	}
	if c.FlowActions != "" && c.FlowSecret == "" {
		return nil, fmt.Errorf("%w: KEFU_FLOW_ACTIONS is set without KEFU_FLOW_SECRET (the backend could not check kefu's signature)", ErrInvalid)
	}
	if len(c.WeChatAESKeys) > 0 && c.WeChatAppID == "" {
		return nil, fmt.Errorf("%w: KEFU_WECHAT_APP_ID is required in safe mode (KEFU_WECHAT_AES_KEY set)", ErrInvalid)
	}
	return c, nil
}

func readYAML(path string, data []byte, values map[string]string) ([]Lane, error) {
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	var lanes []Lane
	for k, node := range raw {
		if k == "lanes" {
			dec := yaml.NewDecoder(bytes.NewReader(mustMarshal(&node)))
			dec.KnownFields(true)
			if err := dec.Decode(&lanes); err != nil {
				return nil, fmt.Errorf("%w: %s: lanes: %v", ErrInvalid, path, err)
			}
			continue
		}
		if _, ok := values[k]; !ok {
			return nil, fmt.Errorf("%w: %s: unknown setting %q", ErrInvalid, path, k)
		}
		if node.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%w: %s: %s must be a single value", ErrInvalid, path, k)
		}
		values[k] = node.Value
	}
	return lanes, nil
}

func mustMarshal(n *yaml.Node) []byte {
	b, err := yaml.Marshal(n)
	if err != nil {
		return nil
	}
	return b
}

func mask(o option, v string) string {
	if o.secret && v != "" {
		return "***"
	}
	return v
}

// Dump renders the effective settings, one KEFU_X=value per line, secrets
// masked.
func (c *Config) Dump() string {
	cur := map[string]string{
		"http_addr": c.HTTPAddr, "pprof_addr": c.PprofAddr, "data_dir": c.DataDir, "redis_url": c.RedisURL, "redis_prefix": c.RedisPrefix,
		"wechat_app_id": c.WeChatAppID, "wechat_app_secret": c.WeChatAppSecret, "wechat_token": c.WeChatToken,
		"wechat_api_base": c.WeChatAPIBase, "wechat_stable_token": strconv.FormatBool(c.WeChatStableToken),
		"wechat_allow_plaintext": strconv.FormatBool(c.WeChatAllowPlaintext),
		"admin_password":         c.AdminPassword, "trusted_proxies": strings.Join(c.TrustedProxies, ","), "log_level": c.LogLevel, "log_format": c.LogFormat,
		"fail_limit": strconv.Itoa(c.FailLimit), "turn_budget": c.TurnBudget.String(),
		"session_write_delay": c.SessionWriteDelay.String(),
		"match_threshold":     strconv.FormatFloat(c.MatchThreshold, 'g', -1, 64), "rules_file": c.RulesFile,
		"kb_file": c.KBFile, "repeat_limit": strconv.Itoa(c.RepeatLimit), "auto_assign": strconv.FormatBool(c.AutoAssign),
		"agent_timeout": c.AgentTimeout.String(), "user_timeout": c.UserTimeout.String(), "queue_timeout": c.QueueTimeout.String(),
		"embed_base_url": c.EmbedBaseURL, "embed_api_key": c.EmbedAPIKey, "embed_model": c.EmbedModel,
		"embed_weight": strconv.FormatFloat(c.EmbedWeight, 'g', -1, 64), "embed_timeout": c.EmbedTimeout.String(),
		"cs_window": c.CSWindow.String(), "cs_limit": strconv.Itoa(c.CSLimit),
		"cs_event_window": c.CSEventWindow.String(), "cs_event_limit": strconv.Itoa(c.CSEventLimit),
		"flows_dir": c.FlowsDir, "flow_actions": c.FlowActions, "flow_secret": c.FlowSecret,
		"flow_action_timeout": c.FlowActionTimeout.String(), "flow_idle": c.FlowIdle.String(),
	}
	for i, k := range c.WeChatAESKeys {
		cur[[]string{"wechat_aes_key", "wechat_aes_key_previous"}[i]] = k
	}
	var lines []string
	for _, o := range options {
		lines = append(lines, envName(o.name)+"="+mask(o, cur[o.name]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// Usage lists every setting with its default and meaning, for the README
// and `kefu help`.
func Usage() string {
	var b strings.Builder
	for _, o := range options {
		fmt.Fprintf(&b, "%-32s %-28s %s\n", envName(o.name), strconv.Quote(o.def), o.usage)
	}
	return b.String()
}
