package config

import (
	"errors"
	"os"
	"path/filepath"
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
