package main

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kefuhq/kefu/bot/wechat"
)

// floorReply is the fixed answer of the floor server.
const floorReply = "您好，这是压测基线的固定回复。"

// floorHandler does only what any webhook must: check the signature,
// decrypt, parse the XML, and answer — here with a reply built once.
type floorHandler struct {
	token  string
	cipher *wechat.Cipher // nil in plain mode
	reply  []byte
	bufs   sync.Pool // *bytes.Buffer
}

// floor is a running floor server.
type floor struct {
	URL string
	srv *http.Server
}

// startFloor listens on a random 127.0.0.1 port and serves the floor
// handler for cfg.mode.
func startFloor(cfg config) (*floor, error) {
	h := &floorHandler{token: cfg.token}
	h.bufs.New = func() any { return new(bytes.Buffer) }
	reply := wechat.TextReply("floor-user", cfg.account, time.Now(), floorReply)
	if cfg.mode == "aes" {
		c, err := wechat.NewCipher([]string{cfg.aesKey}, cfg.appID)
		if err != nil {
			return nil, err
		}
		h.cipher = c
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if reply, err = wechat.SealReply(c, 0, cfg.token, ts, "1", reply); err != nil {
			return nil, err
		}
	}
	h.reply = reply

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() { _ = srv.Serve(ln) }()
	return &floor{URL: "http://" + ln.Addr().String() + "/wechat", srv: srv}, nil
}

// Close stops the floor server.
func (f *floor) Close() error { return f.srv.Close() }

func (h *floorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if sig := q.Get("signature"); (h.cipher == nil || sig != "") && !wechat.CheckSignature(sig, h.token, ts, nonce) {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	msg := buf.Bytes()
	if h.cipher != nil {
		env, err := wechat.ParseEnvelope(msg)
		if err != nil {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		if !wechat.CheckMsgSignature(q.Get("msg_signature"), h.token, ts, nonce, env.Encrypt) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		if msg, _, err = h.cipher.Decrypt(env.Encrypt); err != nil {
			http.Error(w, "undecryptable", http.StatusBadRequest)
			return
		}
	}
	if _, err := wechat.ParseMessage(msg); err != nil {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write(h.reply)
}
