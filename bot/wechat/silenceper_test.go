package wechat

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// TestSilenceperCrossCheck compares our crypto with silenceper/wechat
// v2.1.10 util.EncryptMsg/DecryptMsg/Signature, in both directions.
func TestSilenceperCrossCheck(t *testing.T) {
	const appID = "wx2c2769f8efd9abc2"
	keys := []string{testKey, testKey2, strings.Repeat("A", 43)}
	rng := rand.New(rand.NewPCG(1, 2))
	type message struct {
		name string
		msg  []byte
	}
	msgs := []message{
		{"Empty", nil},
		{"Text", mustRead(t, "text.xml")},
		{"Chinese", []byte("我是中文abcd123")},
		{"Reply", TextReply("oUser", "gh_kefu", timeUnix(1714036504), "您好]]>")},
	}
	for n := 1; n <= 100; n++ {
		m := make([]byte, rng.IntN(300))
		for i := range m {
			m[i] = byte(rng.Uint32())
		}
		msgs = append(msgs, message{"Random", m})
	}
	for _, key := range keys {
		c := mustCipher(t, appID, key)
		for _, m := range msgs {
			var random [randomLen]byte
			for i := range random {
				random[i] = byte(rng.Uint32())
			}
			theirs, err := util.EncryptMsg(random[:], m.msg, appID, key)
			if err != nil {
				t.Fatalf("%s: util.EncryptMsg: %v", m.name, err)
			}
			ours, err := c.encryptWithRandom(m.msg, 0, random)
			if err != nil {
				t.Fatal(err)
			}
			if ours != string(theirs) {
				t.Fatalf("%s: ours %s, silenceper %s", m.name, ours, theirs)
			}
			got, _, err := c.Decrypt(string(theirs))
			if err != nil || !bytes.Equal(got, m.msg) {
				t.Fatalf("%s: Decrypt(silenceper) = %q, %v", m.name, got, err)
			}
			fresh, err := c.Encrypt(m.msg, 0)
			if err != nil {
				t.Fatal(err)
			}
			gotRandom, plain, err := util.DecryptMsg(appID, fresh, key)
			if err != nil || !bytes.Equal(plain, m.msg) || len(gotRandom) != randomLen {
				t.Fatalf("%s: util.DecryptMsg(ours) = %q, %v", m.name, plain, err)
			}
			if _, _, err := util.DecryptMsg("wxother", fresh, key); err == nil {
				t.Fatalf("%s: silenceper accepts our message for another appid", m.name)
			}
			ts, nonce := "1714036504", "1514711492"
			if got, want := Signature(testToken, ts, nonce), util.Signature(testToken, ts, nonce); got != want {
				t.Fatalf("Signature = %s, silenceper %s", got, want)
			}
			if got, want := MsgSignature(testToken, ts, nonce, fresh), util.Signature(testToken, ts, nonce, fresh); got != want {
				t.Fatalf("MsgSignature = %s, silenceper %s", got, want)
			}
		}
	}
}

func timeUnix(sec int64) time.Time { return time.Unix(sec, 0) }
