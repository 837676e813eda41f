package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.RedisURL != "" || c.FailLimit != 3 ||
		c.TurnBudget != 4*time.Second || c.WeChatAPIBase != "https://api.weixin.qq.com" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kefu.yaml")
	yaml := "http_addr: 127.0.0.1:9000\nfail_limit: 4\nlanes:\n  - {name: emergency, sla: 10m}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, true, []string{
		"KEFU_FAIL_LIMIT=5", "KEFU_WECHAT_APP_SECRET_FILE=" + secret, "PATH=/bin",
		"KEFU_WECHAT_AES_KEY=" + strings.Repeat("A", 43), "KEFU_WECHAT_APP_ID=wx1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9000" || c.FailLimit != 5 || c.WeChatAppSecret != "s3cret" || len(c.WeChatAESKeys) != 1 {
		t.Errorf("loaded = %+v", c)
	}
	if len(c.Lanes) != 1 || c.Lanes[0].SLA != 10*time.Minute {
		t.Errorf("lanes = %+v", c.Lanes)
	}
	if d := c.Dump(); strings.Contains(d, "s3cret") || strings.Contains(d, strings.Repeat("A", 43)) {
		t.Errorf("Dump shows a secret:\n%s", d)
	}
}

// TestLoadSettingsNamedFile: settings whose own names end in _FILE
// (KEFU_KB_FILE, KEFU_RULES_FILE) take the path itself; their _FILE form
// reads the path from a file, like any other setting.
func TestLoadSettingsNamedFile(t *testing.T) {
	dir := t.TempDir()
	pathFile := filepath.Join(dir, "path")
	if err := os.WriteFile(pathFile, []byte("/srv/rules.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", false, []string{"KEFU_KB_FILE=/srv/kb.json", "KEFU_RULES_FILE_FILE=" + pathFile})
	if err != nil {
		t.Fatal(err)
	}
	if c.KBFile != "/srv/kb.json" || c.RulesFile != "/srv/rules.yaml" {
		t.Errorf("KBFile %q, RulesFile %q; want /srv/kb.json and /srv/rules.yaml", c.KBFile, c.RulesFile)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("http_adr: x\n"), 0o600)
	tests := []struct {
		name    string
		path    string
		env     []string
		wantSub string
	}{
		{"UnknownEnv", "", []string{"KEFU_HTTP_ADR=:1"}, "KEFU_HTTP_ADR"},
		{"UnknownKey", bad, nil, "http_adr"},
		{"MissingExplicitFile", filepath.Join(dir, "none.yaml"), nil, "none.yaml"},
		{"ShortAESKey", "", []string{"KEFU_WECHAT_AES_KEY=abc", "KEFU_WECHAT_APP_ID=wx"}, "43"},
		{"AESWithoutAppID", "", []string{"KEFU_WECHAT_AES_KEY=" + strings.Repeat("A", 43)}, "APP_ID"},
		{"BadFailLimit", "", []string{"KEFU_FAIL_LIMIT=0"}, "KEFU_FAIL_LIMIT"},
		{"BadBudget", "", []string{"KEFU_TURN_BUDGET=6s"}, "KEFU_TURN_BUDGET"},
		{"BadRedisURL", "", []string{"KEFU_REDIS_URL=localhost:6379"}, "redis://"},
		{"SecretMasked", "", []string{"KEFU_WECHAT_TOKEN="}, "KEFU_WECHAT_TOKEN"},
		{"BadEmbedURL", "", []string{"KEFU_EMBED_BASE_URL=localhost:11434/v1"}, "KEFU_EMBED_BASE_URL"},
		{"EmptyEmbedModel", "", []string{"KEFU_EMBED_MODEL="}, "KEFU_EMBED_MODEL"},
		{"ZeroEmbedWeight", "", []string{"KEFU_EMBED_WEIGHT=0"}, "KEFU_EMBED_WEIGHT"},
		{"BadEmbedWeight", "", []string{"KEFU_EMBED_WEIGHT=1.5"}, "KEFU_EMBED_WEIGHT"},
		{"BadTrustedProxy", "", []string{"KEFU_TRUSTED_PROXIES=10.0.0.0/8,proxy.local"}, "KEFU_TRUSTED_PROXIES"},
		{"BadEmbedTimeout", "", []string{"KEFU_EMBED_TIMEOUT=0s"}, "KEFU_EMBED_TIMEOUT"},
		{"ZeroCSWindow", "", []string{"KEFU_CS_WINDOW=0s"}, "KEFU_CS_WINDOW"},
		{"BadCSLimit", "", []string{"KEFU_CS_LIMIT=none"}, "KEFU_CS_LIMIT"},
		{"NegativeCSEventWindow", "", []string{"KEFU_CS_EVENT_WINDOW=-1m"}, "KEFU_CS_EVENT_WINDOW"},
		{"ZeroCSEventLimit", "", []string{"KEFU_CS_EVENT_LIMIT=0"}, "KEFU_CS_EVENT_LIMIT"},
		{"EmbedTimeoutPastBudget", "", []string{"KEFU_EMBED_BASE_URL=http://localhost:11434/v1", "KEFU_EMBED_TIMEOUT=2s", "KEFU_TURN_BUDGET=2s"}, "KEFU_TURN_BUDGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, tt.path != "", tt.env)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Load = %v, want ErrInvalid mentioning %q", err, tt.wantSub)
			}
		})
	}
}

func TestLoadEmbed(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbedBaseURL != "" || c.EmbedModel != "text-embedding-3-small" || c.EmbedWeight != 0.5 || c.EmbedTimeout != 800*time.Millisecond {
		t.Errorf("embedding defaults = %q %q %g %v", c.EmbedBaseURL, c.EmbedModel, c.EmbedWeight, c.EmbedTimeout)
	}

	key := filepath.Join(t.TempDir(), "embed_key")
	if err := os.WriteFile(key, []byte("sk-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load("", false, []string{
		"KEFU_EMBED_BASE_URL=http://localhost:11434/v1/", "KEFU_EMBED_API_KEY_FILE=" + key,
		"KEFU_EMBED_MODEL=bge-m3", "KEFU_EMBED_WEIGHT=0.3", "KEFU_EMBED_TIMEOUT=500ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbedBaseURL != "http://localhost:11434/v1" || c.EmbedAPIKey != "sk-s3cret" || c.EmbedModel != "bge-m3" ||
		c.EmbedWeight != 0.3 || c.EmbedTimeout != 500*time.Millisecond {
		t.Errorf("loaded = %q %q %q %g %v", c.EmbedBaseURL, c.EmbedAPIKey, c.EmbedModel, c.EmbedWeight, c.EmbedTimeout)
	}
	d := c.Dump()
	if strings.Contains(d, "sk-s3cret") || !strings.Contains(d, "KEFU_EMBED_API_KEY=***") || !strings.Contains(d, "KEFU_EMBED_WEIGHT=0.3") {
		t.Errorf("Dump:\n%s", d)
	}
	if u := Usage(); !strings.Contains(u, "KEFU_EMBED_BASE_URL") {
		t.Errorf("Usage does not list KEFU_EMBED_BASE_URL:\n%s", u)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load("", false, []string{"KEFU_TRUSTED_PROXIES= 10.0.0.0/8, 127.0.0.1 ,,::1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.0/8", "127.0.0.1", "::1"}; !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", c.TrustedProxies, want)
	}
	if c, err = Load("", false, nil); err != nil || c.TrustedProxies != nil {
		t.Errorf("default TrustedProxies = %q, %v; want none", c.TrustedProxies, err)
	}
}

func TestCSWindow(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CSWindow != 48*time.Hour || c.CSLimit != 5 || c.CSEventWindow != time.Minute || c.CSEventLimit != 3 {
		t.Errorf("defaults = %v %d %v %d; want WECHAT.md's 48h 5 1m 3", c.CSWindow, c.CSLimit, c.CSEventWindow, c.CSEventLimit)
	}
	path := filepath.Join(t.TempDir(), "kefu.yaml")
	if err := os.WriteFile(path, []byte("cs_limit: 20\ncs_event_window: 90s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(path, true, []string{"KEFU_CS_WINDOW=24h", "KEFU_CS_EVENT_LIMIT=1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.CSWindow != 24*time.Hour || c.CSLimit != 20 || c.CSEventWindow != 90*time.Second || c.CSEventLimit != 1 {
		t.Errorf("loaded = %v %d %v %d", c.CSWindow, c.CSLimit, c.CSEventWindow, c.CSEventLimit)
	}
	d := c.Dump()
	for _, want := range []string{"KEFU_CS_WINDOW=24h0m0s", "KEFU_CS_LIMIT=20", "KEFU_CS_EVENT_WINDOW=1m30s", "KEFU_CS_EVENT_LIMIT=1"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dump lacks %s:\n%s", want, d)
		}
	}
}

func TestAutoAssign(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil || c.AutoAssign {
		t.Fatalf("default AutoAssign = %v, %v; want false (claim-next)", c.AutoAssign, err)
	}
	path := filepath.Join(t.TempDir(), "kefu.yaml")
	if err := os.WriteFile(path, []byte("auto_assign: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(path, true, nil); err != nil || !c.AutoAssign {
		t.Errorf("auto_assign: true in kefu.yaml = %v, %v", c.AutoAssign, err)
	}
	if c, err = Load(path, true, []string{"KEFU_AUTO_ASSIGN=false"}); err != nil || c.AutoAssign {
		t.Errorf("KEFU_AUTO_ASSIGN=false over the file = %v, %v", c.AutoAssign, err)
	}
	if !strings.Contains(c.Dump(), "KEFU_AUTO_ASSIGN=false\n") {
		t.Errorf("Dump lacks KEFU_AUTO_ASSIGN:\n%s", c.Dump())
	}
	if _, err := Load("", false, []string{"KEFU_AUTO_ASSIGN=maybe"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("KEFU_AUTO_ASSIGN=maybe: %v, want ErrInvalid", err)
	}
}

func TestTimeouts(t *testing.T) {
	c, err := Load("", false, nil)
	if err != nil || c.AgentTimeout != 30*time.Minute || c.UserTimeout != 30*time.Minute || c.QueueTimeout != 24*time.Hour {
		t.Fatalf("default timeouts = %v, %v, %v (%v); want 30m, 30m, 24h", c.AgentTimeout, c.UserTimeout, c.QueueTimeout, err)
	}
	c, err = Load("", false, []string{"KEFU_QUEUE_TIMEOUT=12h", "KEFU_AGENT_TIMEOUT=10m", "KEFU_USER_TIMEOUT=1h"})
	if err != nil || c.QueueTimeout != 12*time.Hour || c.AgentTimeout != 10*time.Minute || c.UserTimeout != time.Hour {
		t.Errorf("set timeouts = %v, %v, %v (%v); want 10m, 1h, 12h", c.AgentTimeout, c.UserTimeout, c.QueueTimeout, err)
	}
	if !strings.Contains(c.Dump(), "KEFU_QUEUE_TIMEOUT=12h0m0s\n") {
		t.Errorf("Dump lacks KEFU_QUEUE_TIMEOUT:\n%s", c.Dump())
	}
	for _, bad := range []string{"KEFU_QUEUE_TIMEOUT=0s", "KEFU_AGENT_TIMEOUT=soon", "KEFU_USER_TIMEOUT=-1m"} {
		if _, err := Load("", false, []string{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad, err)
		}
	}
}
