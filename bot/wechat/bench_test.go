package wechat

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/bot"
)

// benchReply is the fixed short Chinese answer of the benchmark Responder.
const benchReply = "您好！人工客服热线95017，工作时间9:00-22:00。"

// replayBody is a request body that can be rewound without allocating.
type replayBody struct{ bytes.Reader }

func (*replayBody) Close() error { return nil }

// benchWebhook measures the full Gin webhook on one pre-built signed
// request, with an httptest recorder per request.
func benchWebhook(b *testing.B, opts Options, rawQuery string, body []byte) {
	opts.Logger = slog.New(slog.DiscardHandler)
	h, err := NewHandler(opts, ResponderFunc(func(context.Context, bot.Inbound) bot.Reply {
		return bot.Reply{Text: benchReply}
	}))
	if err != nil {
		b.Fatal(err)
	}
	e := gin.New()
	h.Register(e)

	rb := &replayBody{}
	req := httptest.NewRequest(http.MethodPost, "/wechat", nil)
	req.URL.RawQuery = rawQuery
	req.Header.Set("Content-Type", "text/xml")
	req.ContentLength = int64(len(body))
	req.Body = rb

	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rb.Reset(body)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkWebhookPlain(b *testing.B) {
	q := signedQuery(testToken, "1714040000", "1320562132")
	benchWebhook(b, Options{Token: testToken}, q.Encode(), mustRead(b, "text.xml"))
}

func BenchmarkWebhookAES(b *testing.B) {
	c := mustCipher(b, testAppID, testKey)
	q, body := sealRequest(b, c, testToken, "1714040000", "1320562132", mustRead(b, "text.xml"), false)
	benchWebhook(b, aesOptions(), q.Encode(), body)
}

// BenchmarkWebhookAESRotation is the AES webhook when the request uses the
// previous key (two decryption attempts).
func BenchmarkWebhookAESRotation(b *testing.B) {
	c := mustCipher(b, testAppID, testKey)
	q, body := sealRequest(b, c, testToken, "1714040000", "1320562132", mustRead(b, "text.xml"), false)
	benchWebhook(b, aesOptions(testKey2, testKey), q.Encode(), body)
}

func BenchmarkParseMessage(b *testing.B) {
	body := mustRead(b, "text.xml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMessageEncodingXML is the encoding/xml alternative, for
// comparison with the hand-written scanner.
func BenchmarkParseMessageEncodingXML(b *testing.B) {
	body := mustRead(b, "text.xml")
	b.ReportAllocs()
	for b.Loop() {
		var m refMessage
		if err := xml.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c := mustCipher(b, testAppID, testKey)
	enc, _ := c.Encrypt(mustRead(b, "text.xml"), 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Decrypt(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealReply(b *testing.B) {
	c := mustCipher(b, testAppID, testKey)
	reply := TextReply("oKefuTestUser0000000000000A", "gh_kefu00000001", time.Unix(testNow, 0), benchReply)
	var random [randomLen]byte
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = appendSealed(buf[:0], c, 0, &random, testToken, "1714040000", "1320562132", reply)
		if err != nil {
			b.Fatal(err)
		}
	}
}
