package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot/wechat"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// TestE2ETwoInstances starts two kefu processes on one Redis, as two
// instances behind a load balancer, and delivers each message to both at
// once, as WeChat's retry after a timeout can land on the other instance:
// both must give the same single answer, and the handoff must open exactly
// one ticket.
func TestE2ETwoInstances(t *testing.T) {
	redisURL := os.Getenv("KEFU_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("KEFU_TEST_REDIS_URL unset")
	}
	bin := buildKefu(t)
	acct := newAccount()
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetCredentials(acct.AppID, acct.Secret)
	shared := []string{
		"KEFU_WECHAT_TOKEN=" + acct.Token, "KEFU_WECHAT_APP_ID=" + acct.AppID,
		"KEFU_WECHAT_APP_SECRET=" + acct.Secret, "KEFU_WECHAT_API_BASE=" + fake.URL(),
		"KEFU_REDIS_URL=" + redisURL, "KEFU_REDIS_PREFIX=kefu-e2e:" + randHex(4) + ":",
	}
	var bases []string
	for range 2 {
		addr := freeAddr(t)
		env := append([]string{"KEFU_HTTP_ADDR=" + addr, "KEFU_DATA_DIR=" + t.TempDir()}, shared...)
		startKefu(t, bin, env, "http://"+addr)
		bases = append(bases, "http://"+addr)
	}

	openID := "o_e2e_two_" + randHex(3)
	for i, text := range []string{"海外用户怎么联系客服", "转人工"} {
		body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
			"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>"+
			"<MsgId>%d</MsgId></xml>", acct.GH, openID, time.Now().Unix(), text, 7100000000000000000+i)
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.Itoa(100000+i)
		q := url.Values{"signature": {wechat.Signature(acct.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {openID}}
		replies := make([]string, len(bases))
		var wg sync.WaitGroup
		for j, base := range bases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(base+"/wechat?"+q.Encode(), "text/xml", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("instance %d: HTTP %d %s", j, resp.StatusCode, b)
				}
				replies[j] = string(b)
			}()
		}
		wg.Wait()
		// Each instance stamps CreateTime when it writes the reply; the
		// two may straddle a second.
		same := createTime.ReplaceAllString(replies[0], "") == createTime.ReplaceAllString(replies[1], "")
		if !same || !strings.Contains(replies[0], "<Content>") {
			t.Fatalf("%q: the instances answered differently:\n%s\n%s", text, replies[0], replies[1])
		}
	}

	var listed []listedTicket
	out := runKefu(t, bin, append([]string{"KEFU_DATA_DIR=" + t.TempDir()}, shared...), "tickets", "-json", "-status", "open")
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("kefu tickets -json: %v\n%s", err, out)
	}
	n := 0
	for _, tk := range listed {
		if tk.OpenID == openID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d open tickets for the user, want exactly one:\n%s", n, out)
	}
}

// createTime matches the CreateTime element of a passive reply.
var createTime = regexp.MustCompile(`<CreateTime>\d+</CreateTime>`)
