package e2e

import "testing"

// serveEnv is the environment of a kefu serve for the official account
// acct on addr: a fresh data directory, the fake WeChat API at apiBase,
// safe mode (KEFU_WECHAT_AES_KEY) and the first admin's password.
func serveEnv(t *testing.T, addr string, acct account, apiBase, adminPassword string) []string {
	return []string{
		"KEFU_HTTP_ADDR=" + addr,
		"KEFU_DATA_DIR=" + t.TempDir(),
		"KEFU_WECHAT_TOKEN=" + acct.Token,
		"KEFU_WECHAT_AES_KEY=" + acct.AESKey,
		"KEFU_WECHAT_APP_ID=" + acct.AppID,
		"KEFU_WECHAT_APP_SECRET=" + acct.Secret,
		"KEFU_WECHAT_API_BASE=" + apiBase,
		"KEFU_ADMIN_PASSWORD=" + adminPassword,
	}
}
