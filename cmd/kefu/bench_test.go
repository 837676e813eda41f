package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/wechat"
	"github.com/kefuhq/kefu/config"
)

const (
	benchToken = "benchtoken"
	benchAES   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	benchAppID = "wx0123456789abcdef"
)

// benchQuestions mixes what the load generator sends: mostly questions the
// KB answers, some it cannot, a few handoffs.
var benchQuestions = []string{
	"海外用户怎么联系客服", "老人打什么电话找客服", "客服一般多久回复", "商户结算异常找谁", "账号被冻结了怎么解冻",
	"怎么导出微信支付账单", "未成年人退款要多久", "啊哦呃咿呜吧", "今天中午吃什么好", "转人工",
}

// benchApp is kefu on a fresh embedded store, as `kefu serve` wires it.
func benchApp(b *testing.B) http.Handler {
	b.Helper()
	cfg, err := config.Load("", false, []string{
		"KEFU_DATA_DIR=" + b.TempDir(), "KEFU_WECHAT_TOKEN=" + benchToken,
		"KEFU_WECHAT_AES_KEY=" + benchAES, "KEFU_WECHAT_APP_ID=" + benchAppID, "KEFU_WECHAT_ALLOW_PLAINTEXT=true",
	})
	if err != nil {
		b.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	h, err := a.routes()
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// floorApp is the floor: signature, decryption, XML parsing and a fixed
// encrypted reply, with no bot behind it.
func floorApp(b *testing.B) http.Handler {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	h, err := wechat.NewHandler(wechat.Options{Token: benchToken, AppID: benchAppID, AESKeys: []string{benchAES},
		AllowPlaintext: true, Logger: slog.New(slog.DiscardHandler)},
		wechat.ResponderFunc(func(context.Context, bot.Inbound) bot.Reply {
			return bot.Reply{Text: "您好，请问有什么可以帮您？"}
		}))
	if err != nil {
		b.Fatal(err)
	}
	h.Register(r)
	return r
}

// platform builds requests as the WeChat platform sends them.
type platform struct {
	cipher *wechat.Cipher
	seq    atomic.Int64
}

func newPlatform(b *testing.B) *platform {
	c, err := wechat.NewCipher([]string{benchAES}, benchAppID)
	if err != nil {
		b.Fatal(err)
	}
	return &platform{cipher: c}
}

// request is message n, in safe mode when aes: each user sends the ten
// benchQuestions in turn (the last one hands off) and then leaves to wait for
// a person, so the mix is that of the load generator.
func (p *platform) request(b *testing.B, aes bool) *http.Request {
	n := p.seq.Add(1)
	user := fmt.Sprintf("o_bench_%09d", n/int64(len(benchQuestions)))
	q := benchQuestions[n%int64(len(benchQuestions))]
	xml := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		user, time.Now().Unix(), q, 7000000000000000000+n)
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.FormatInt(n, 10)
	v := url.Values{"timestamp": {ts}, "nonce": {nonce}, "openid": {user}, "signature": {wechat.Signature(benchToken, ts, nonce)}}
	body := xml
	if aes {
		enc, err := p.cipher.Encrypt([]byte(xml), 0)
		if err != nil {
			b.Fatal(err)
		}
		v.Set("encrypt_type", "aes")
		v.Set("msg_signature", wechat.MsgSignature(benchToken, ts, nonce, enc))
		body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	}
	req := httptest.NewRequest(http.MethodPost, "/wechat?"+v.Encode(), bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

// benchServe sends messages through h on every core. The
// request building (and client-side encryption) is the same for kefu and
// the floor, so their ratio is fair.
func benchServe(b *testing.B, h http.Handler, aes bool) {
	p := newPlatform(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, p.request(b, aes))
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
			io.Copy(io.Discard, w.Body)
		}
	})
}

func BenchmarkKefuPlain(b *testing.B)  { benchServe(b, benchApp(b), false) }
func BenchmarkKefuAES(b *testing.B)    { benchServe(b, benchApp(b), true) }
func BenchmarkFloorPlain(b *testing.B) { benchServe(b, floorApp(b), false) }
func BenchmarkFloorAES(b *testing.B)   { benchServe(b, floorApp(b), true) }
