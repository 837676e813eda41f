package wechat

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// vectors are the official and public test vectors in testdata/vectors.json
// (WECHAT.md §1 and §3).
type vectors struct {
	Signatures []struct {
		Name, Token, Timestamp, Nonce, Encrypt, Want string
	}
	Ciphers []struct {
		Name, Key, AppID, Random, Encrypt, Msg string
	}
}

func mustVectors(tb testing.TB) vectors {
	tb.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	if len(v.Signatures) == 0 || len(v.Ciphers) == 0 {
		tb.Fatal("testdata/vectors.json: no vectors")
	}
	return v
}

func mustCipher(tb testing.TB, appID string, keys ...string) *Cipher {
	tb.Helper()
	c, err := NewCipher(keys, appID)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range mustVectors(t).Signatures {
		t.Run(v.Name, func(t *testing.T) {
			var got string
			var ok, wrong bool
			if v.Encrypt == "" {
				got = Signature(v.Token, v.Timestamp, v.Nonce)
				ok = CheckSignature(v.Want, v.Token, v.Timestamp, v.Nonce)
				wrong = CheckSignature(v.Want, v.Token, v.Timestamp, v.Nonce+"1")
			} else {
				got = MsgSignature(v.Token, v.Timestamp, v.Nonce, v.Encrypt)
				ok = CheckMsgSignature(v.Want, v.Token, v.Timestamp, v.Nonce, v.Encrypt)
				wrong = CheckMsgSignature(v.Want, v.Token, v.Timestamp, v.Nonce, v.Encrypt+"A")
				if b := msgSignatureBytes(v.Token, v.Timestamp, v.Nonce, []byte(v.Encrypt)); string(b[:]) != v.Want {
					t.Errorf("msgSignatureBytes = %s, want %s", b[:], v.Want)
				}
			}
			if got != v.Want {
				t.Errorf("got %s, want %s", got, v.Want)
			}
			if !ok {
				t.Error("check rejects the right signature")
			}
			if wrong {
				t.Error("check accepts a signature of other input")
			}
		})
	}
}

func TestCheckSignature(t *testing.T) {
	const want = "f464b24fc39322e44b38aa78f5edd27bd1441696"
	tests := []struct {
		name string
		sig  string
		ok   bool
	}{
		{"OK", want, true},
		{"ErrEmpty", "", false},
		{"ErrUpperCase", strings.ToUpper(want), false},
		{"ErrShort", want[:39], false},
		{"ErrLong", want + "0", false},
		{"ErrOneDigit", want[:39] + "7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckSignature(tt.sig, "AAAAA", "1714036504", "1514711492"); got != tt.ok {
				t.Errorf("CheckSignature(%q) = %v, want %v", tt.sig, got, tt.ok)
			}
		})
	}
}

func TestCipherVectors(t *testing.T) {
	for _, v := range mustVectors(t).Ciphers {
		t.Run(v.Name, func(t *testing.T) {
			c := mustCipher(t, v.AppID, v.Key)
			msg, k, err := c.Decrypt(v.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(msg) != v.Msg || k != 0 {
				t.Errorf("Decrypt = %q, key %d; want %q, key 0", msg, k, v.Msg)
			}
			if v.Random == "" {
				return
			}
			var random [randomLen]byte
			copy(random[:], v.Random)
			got, err := c.encryptWithRandom([]byte(v.Msg), 0, random)
			if err != nil {
				t.Fatalf("encryptWithRandom: %v", err)
			}
			if got != v.Encrypt {
				t.Errorf("encryptWithRandom = %s, want %s", got, v.Encrypt)
			}
		})
	}
}

// TestSealReplyVectors checks the whole encrypted envelope against vectors
// A-reply and D-reply.
func TestSealReplyVectors(t *testing.T) {
	tests := []struct {
		name, key, appID, token, timestamp, nonce, random, reply string
		wantEncrypt, wantSig                                     string
	}{
		{
			name: "A_reply", key: strings.Repeat("A", 43), appID: "wxba5fad812f8e6fb9", token: "AAAAA",
			timestamp: "1713424427", nonce: "415670741", random: "707722b803182950", reply: `{"demo_resp":"good luck"}`,
			wantEncrypt: "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
			wantSig:     "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
		},
		{
			name: "D_reply", key: "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", appID: "wx49f0ab532d5d035a", token: "123456",
			timestamp: "1411525903", nonce: "461056294", random: "1234567890123456",
			reply:       "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>",
			wantEncrypt: "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3",
			wantSig:     "407518b7649e86ef23978113f92d27afa9296533",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCipher(t, tt.appID, tt.key)
			var random [randomLen]byte
			copy(random[:], tt.random)
			out, err := appendSealed(nil, c, 0, &random, tt.token, tt.timestamp, tt.nonce, []byte(tt.reply))
			if err != nil {
				t.Fatal(err)
			}
			want := "<xml><Encrypt><![CDATA[" + tt.wantEncrypt + "]]></Encrypt><MsgSignature><![CDATA[" + tt.wantSig +
				"]]></MsgSignature><TimeStamp>" + tt.timestamp + "</TimeStamp><Nonce><![CDATA[" + tt.nonce + "]]></Nonce></xml>"
			if string(out) != want {
				t.Errorf("envelope\n got %s\nwant %s", out, want)
			}
			env, err := ParseEnvelope(out)
			if err != nil {
				t.Fatal(err)
			}
			if env.Encrypt != tt.wantEncrypt || env.MsgSignature != tt.wantSig || env.TimeStamp != tt.timestamp || env.Nonce != tt.nonce {
				t.Errorf("ParseEnvelope = %+v", env)
			}
		})
	}
}

func TestNewCipher(t *testing.T) {
	good := strings.Repeat("A", 43)
	tests := []struct {
		name    string
		keys    []string
		appID   string
		wantErr error
	}{
		{"OK", []string{good}, "wx1", nil},
		{"OKRotation", []string{good, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}, "wx1", nil},
		{"ErrNoKey", nil, "wx1", ErrBadKey},
		{"ErrShort", []string{good[:42]}, "wx1", ErrBadKey},
		{"ErrLong", []string{good + "A"}, "wx1", ErrBadKey},
		{"ErrNotBase64", []string{strings.Repeat("A", 42) + "*"}, "wx1", ErrBadKey},
		{"ErrSecondKey", []string{good, "short"}, "wx1", ErrBadKey},
		{"ErrNoAppID", []string{good}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCipher(tt.keys, tt.appID)
			switch {
			case tt.name == "ErrNoAppID":
				if err == nil {
					t.Fatal("no error without AppID")
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				for _, k := range tt.keys {
					if len(k) > 10 && strings.Contains(err.Error(), k) {
						t.Errorf("error %q leaks the key", err)
					}
				}
			default:
				if err != nil || c.Keys() != len(tt.keys) || c.AppID() != tt.appID {
					t.Fatalf("NewCipher = %v, %v", c, err)
				}
			}
		})
	}
}

func TestDecryptErrors(t *testing.T) {
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	c := mustCipher(t, "wx2c2769f8efd9abc2", key)
	other := mustCipher(t, "wxOTHER", key)
	enc := func(c *Cipher, msg string) string {
		s, err := c.Encrypt([]byte(msg), 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// raw seals arbitrary plaintext (already padded) with key.
	raw := func(plain []byte) string {
		out := make([]byte, len(plain))
		k := &c.keys[0]
		cbcEncrypt(k, out, plain)
		return base64.StdEncoding.EncodeToString(out)
	}
	block := func(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }
	withHeader := func(msgLen uint32, rest string, pad int) []byte {
		p := append(block(16, 'r'), byte(msgLen>>24), byte(msgLen>>16), byte(msgLen>>8), byte(msgLen))
		p = append(p, rest...)
		return append(p, bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"ErrBadBase64", "not base64!", ErrBadBase64},
		{"ErrEmpty", "", ErrBadBlockSize},
		{"ErrBlockSize", base64.StdEncoding.EncodeToString(block(20, 1)), ErrBadBlockSize},
		{"ErrPaddingZero", raw(block(32, 0)), ErrBadPadding},
		{"ErrPaddingOver32", raw(append(block(31, 'x'), 33)), ErrBadPadding},
		{"ErrPaddingMixed", raw(append(block(30, 'x'), 1, 2)), ErrBadPadding},
		{"ErrTooShortForHeader", raw(append(block(16, 'x'), block(16, 16)...)), ErrBadLength},
		{"ErrMsgLenPastEnd", raw(withHeader(100, "abcdefghijkl", 32)), ErrBadLength},
		{"ErrMsgLenHuge", raw(withHeader(0xffffffff, "abcdefghijkl", 32)), ErrBadLength},
		{"ErrAppIDMismatch", enc(other, "<xml/>"), ErrAppIDMismatch},
		{"ErrWrongKey", enc(mustCipher(t, "wx2c2769f8efd9abc2", strings.Repeat("B", 43)), "<xml/>"), ErrBadPadding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, _, err := c.Decrypt(tt.in)
			if tt.name == "ErrWrongKey" {
				// A wrong key almost always breaks the padding; it must
				// fail either way.
				if err == nil {
					t.Fatalf("Decrypt with a wrong key = %q", msg)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// cbcEncrypt encrypts already padded plaintext with k, to build broken
// ciphertexts.
func cbcEncrypt(k *aesKey, dst, src []byte) {
	cipher.NewCBCEncrypter(k.block, k.iv[:]).CryptBlocks(dst, src)
}

func TestEncryptErrors(t *testing.T) {
	c := mustCipher(t, "wx1", strings.Repeat("A", 43))
	for _, k := range []int{-1, 1} {
		if _, err := c.Encrypt([]byte("x"), k); !errors.Is(err, ErrKeyIndex) {
			t.Errorf("Encrypt(key %d): err = %v, want ErrKeyIndex", k, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustCipher(t, "wx2c2769f8efd9abc2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	tests := []struct {
		name string
		msg  string
	}{
		{"Empty", ""},
		{"OneByte", "x"},
		{"PadsToFull32", strings.Repeat("x", 32-(headerLen+len("wx2c2769f8efd9abc2"))%32)},
		{"Chinese", "您好，请问怎么转人工？"},
		{"Long", strings.Repeat("长消息", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encrypt([]byte(tt.msg), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != c.encryptedLen(len(tt.msg)) {
				t.Errorf("len = %d, encryptedLen = %d", len(enc), c.encryptedLen(len(tt.msg)))
			}
			raw, _ := base64.StdEncoding.DecodeString(enc)
			if len(raw)%padBlock != 0 {
				t.Errorf("ciphertext of %d bytes is not padded to 32", len(raw))
			}
			got, k, err := c.Decrypt(enc)
			if err != nil || string(got) != tt.msg || k != 0 {
				t.Fatalf("Decrypt = %q, %d, %v", got, k, err)
			}
			again, _ := c.Encrypt([]byte(tt.msg), 0)
			if again == enc {
				t.Error("two encryptions are equal: the random prefix is not fresh")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	const appID = "wxrotation"
	oldKey := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	newKey := "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	before := mustCipher(t, appID, oldKey)
	after := mustCipher(t, appID, newKey, oldKey)

	tests := []struct {
		name    string
		sender  *Cipher
		wantKey int
	}{
		{"CurrentKey", mustCipher(t, appID, newKey), 0},
		{"PreviousKey", before, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.sender.Encrypt([]byte("<xml>hi</xml>"), 0)
			if err != nil {
				t.Fatal(err)
			}
			msg, k, err := after.Decrypt(enc)
			if err != nil || string(msg) != "<xml>hi</xml>" || k != tt.wantKey {
				t.Fatalf("Decrypt = %q, key %d, %v; want key %d", msg, k, err, tt.wantKey)
			}
			// The reply goes out with the key that worked, so the sender
			// (who only knows its key) can read it.
			reply, err := after.Encrypt([]byte("reply"), k)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := tt.sender.Decrypt(reply); err != nil || string(got) != "reply" {
				t.Fatalf("sender cannot read the reply: %q, %v", got, err)
			}
		})
	}
	t.Run("ErrUnknownKey", func(t *testing.T) {
		enc, _ := mustCipher(t, appID, strings.Repeat("Z", 43)).Encrypt([]byte("x"), 0)
		if _, _, err := after.Decrypt(enc); err == nil {
			t.Fatal("a message under an unknown key decrypted")
		}
	})
	t.Run("ErrAppIDMismatchWins", func(t *testing.T) {
		enc, _ := mustCipher(t, "wxother", oldKey).Encrypt([]byte("x"), 0)
		if _, _, err := after.Decrypt(enc); !errors.Is(err, ErrAppIDMismatch) {
			t.Fatalf("err = %v, want ErrAppIDMismatch from the key that decrypted", err)
		}
	})
}

func TestCryptoAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build")
	}
	c := mustCipher(t, "wx2c2769f8efd9abc2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	msg := []byte(strings.Repeat("<xml>消息</xml>", 20))
	enc, _ := c.Encrypt(msg, 0)
	encBytes := []byte(enc)
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"Signature", 1, func() { _ = Signature("token", "1714036504", "1514711492") }},
		{"CheckMsgSignature", 0, func() { _ = CheckMsgSignature("x", "token", "1714036504", "1514711492", enc) }},
		{"decrypt", 2, func() { _, _, _ = c.decrypt(encBytes) }},
		{"Encrypt", 3, func() { _, _ = c.Encrypt(msg, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n > tt.max {
				t.Errorf("%v allocs per run, want at most %v", n, tt.max)
			}
		})
	}
}

// FuzzDecrypt checks that Decrypt never panics on any Encrypt text, and
// that whatever it accepts survives an Encrypt/Decrypt round trip.
func FuzzDecrypt(f *testing.F) {
	v := mustVectors(f)
	for _, cv := range v.Ciphers {
		f.Add(cv.Encrypt)
	}
	f.Add("")
	f.Add("====")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 48)))
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	single := mustCipher(f, "wx2c2769f8efd9abc2", key)
	rotating := mustCipher(f, "wx2c2769f8efd9abc2", strings.Repeat("A", 43), key)
	f.Fuzz(func(t *testing.T, b64 string) {
		for _, c := range []*Cipher{single, rotating} {
			msg, k, err := c.Decrypt(b64)
			if err != nil {
				if msg != nil {
					t.Fatalf("message %q with error %v", msg, err)
				}
				continue
			}
			enc, err := c.Encrypt(msg, k)
			if err != nil {
				t.Fatal(err)
			}
			again, k2, err := c.Decrypt(enc)
			if err != nil || !bytes.Equal(again, msg) || k2 != k {
				t.Fatalf("round trip: %q key %d -> %q key %d, %v", msg, k, again, k2, err)
			}
		}
	})
}

// FuzzEncryptRoundTrip checks Decrypt(Encrypt(m)) == m for any message.
func FuzzEncryptRoundTrip(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("我是中文abcd123"))
	c := mustCipher(f, "wx2c2769f8efd9abc2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	f.Fuzz(func(t *testing.T, msg []byte) {
		enc, err := c.Encrypt(msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q = %q, %v", msg, got, err)
		}
	})
}
