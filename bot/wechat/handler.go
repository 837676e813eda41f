package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/internal/logid"
)

// Responder answers one inbound message. An empty Reply makes the webhook
// answer "success" (WeChat then expects nothing more). ctx carries the
// deadline of the passive reply (Options.Budget); a Responder that needs
// longer should answer empty and deliver through the customer-service API.
type Responder interface {
	Respond(ctx context.Context, in bot.Inbound) bot.Reply
}

// ResponderFunc adapts a function to the Responder interface.
type ResponderFunc func(ctx context.Context, in bot.Inbound) bot.Reply

// Respond calls f(ctx, in).
func (f ResponderFunc) Respond(ctx context.Context, in bot.Inbound) bot.Reply { return f(ctx, in) }

// Options configures a Handler.
type Options struct {
	// Token is the server-config Token shared with WeChat. Required.
	Token string
	// AppID is the account's AppID, checked in every decrypted message.
	// Required with AESKeys.
	AppID string
	// AESKeys are the EncodingAESKeys, current first, then the previous
	// one during a rotation. Empty means plaintext mode only.
	AESKeys []string
	// AllowPlaintext accepts plaintext POSTs even when AESKeys are set.
	// By default a server with keys (compatible or safe mode) refuses them
	// with 401: a plaintext POST's signature does not cover its body, so one
	// leaked signature/timestamp/nonce triple would let anyone forge
	// messages.
	AllowPlaintext bool
	// MaxBody caps the request body in bytes; 0 means 1 MiB.
	MaxBody int64
	// Budget is the deadline set on the context given to Respond; 0 means
	// 4 s (WeChat hangs up after 5 s).
	Budget time.Duration
	// Logger receives one info line per request (method, status, latency
	// and a hash of the OpenID); bodies only at debug. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for reply timestamps; nil means time.Now.
	Now func() time.Time
}

// Defaults for Options.
const (
	// DefaultMaxBody is the body limit when Options.MaxBody is 0: 1 MiB.
	DefaultMaxBody = 1 << 20
	// DefaultBudget is the Respond deadline when Options.Budget is 0.
	DefaultBudget = 4 * time.Second
)

// Handler is the WeChat webhook: URL verification (GET) and inbound
// messages (POST) in plaintext, compatible and safe mode. Create it with
// NewHandler and mount it with Register.
type Handler struct {
	token   string
	cipher  *Cipher // nil in plaintext-only mode
	plain   bool    // plaintext POSTs accepted
	maxBody int64
	budget  time.Duration
	log     *slog.Logger
	now     func() time.Time
	resp    Responder
	bufs    sync.Pool // *buffers
	// Content-Type header values, built once: gin's c.Data allocates one
	// per response.
	ctText, ctXML []string
}

// buffers are the per-request scratch buffers reused across requests.
type buffers struct {
	body []byte
	out  []byte
}

// maxPooled is the largest buffer put back in the pool; bigger ones are
// left to the garbage collector.
const maxPooled = 64 << 10

// Errors of the webhook, mapped to HTTP statuses by statusOf.
var (
	// ErrBadSignature reports a missing or wrong signature or msg_signature.
	ErrBadSignature = errors.New("wechat: bad signature")
	// ErrTooLarge reports a body over Options.MaxBody.
	ErrTooLarge = errors.New("wechat: request body too large")
	// ErrBadRequest reports a request the webhook cannot use: an unknown
	// encrypt_type, safe mode without keys, a missing echostr, an
	// unreadable body.
	ErrBadRequest = errors.New("wechat: bad request")
	// errInternal reports a failure of the webhook itself (500).
	errInternal = errors.New("wechat: internal error")
)

// NewHandler returns a webhook Handler that passes every message to r.
func NewHandler(opts Options, r Responder) (*Handler, error) {
	if opts.Token == "" {
		return nil, errors.New("wechat: Token is required")
	}
	if r == nil {
		return nil, errors.New("wechat: a Responder is required")
	}
	if opts.MaxBody < 0 || opts.Budget < 0 {
		return nil, errors.New("wechat: MaxBody and Budget must not be negative")
	}
	h := &Handler{
		token:   opts.Token,
		maxBody: opts.MaxBody,
		budget:  opts.Budget,
		log:     opts.Logger,
		now:     opts.Now,
		resp:    r,
		plain:   len(opts.AESKeys) == 0 || opts.AllowPlaintext,
	}
	if len(opts.AESKeys) > 0 {
		c, err := NewCipher(opts.AESKeys, opts.AppID)
		if err != nil {
			return nil, err
		}
		h.cipher = c
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.budget == 0 {
		h.budget = DefaultBudget
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.bufs.New = func() any { return new(buffers) }
	h.ctText, h.ctXML = []string{contentText}, []string{contentXML}
	return h, nil
}

// Register mounts GET /wechat (URL verification) and POST /wechat
// (messages) on r.
func (h *Handler) Register(r gin.IRouter) {
	r.GET("/wechat", h.verify)
	r.POST("/wechat", h.receive)
}

// Content types of the responses.
const (
	contentText = "text/plain; charset=utf-8"
	contentXML  = "application/xml; charset=utf-8"
)

// verify answers WeChat's URL verification: echostr if the plain signature
// holds.
func (h *Handler) verify(c *gin.Context) {
	start := time.Now()
	q := parseQuery(c.Request.URL.RawQuery)
	var err error
	switch {
	case !CheckSignature(q.signature, h.token, q.timestamp, q.nonce):
		err = ErrBadSignature
	case q.echostr == "":
		err = fmt.Errorf("%w: no echostr", ErrBadRequest)
	}
	status := http.StatusOK
	if err != nil {
		status = h.writeError(c, err)
	} else {
		h.writeText(c, http.StatusOK, q.echostr)
	}
	h.logRequest(c.Request.Context(), http.MethodGet, status, start, "", err)
}

// receive handles one inbound message or event.
func (h *Handler) receive(c *gin.Context) {
	start := time.Now()
	bufs := h.bufs.Get().(*buffers)
	openID, err := h.serve(c, bufs)
	status := http.StatusOK
	if err != nil {
		status = h.writeError(c, err)
	}
	if cap(bufs.body) <= maxPooled && cap(bufs.out) <= maxPooled {
		h.bufs.Put(bufs)
	}
	h.logRequest(c.Request.Context(), http.MethodPost, status, start, openID, err)
}

// serve does the work of receive. It writes the response itself on
// success and returns the error to answer otherwise.
func (h *Handler) serve(c *gin.Context, bufs *buffers) (openID string, err error) {
	q := parseQuery(c.Request.URL.RawQuery)
	var aes bool
	switch q.encryptType {
	case "", "raw":
	case "aes":
		aes = true
	default:
		return "", fmt.Errorf("%w: unknown encrypt_type", ErrBadRequest)
	}
	if aes && h.cipher == nil {
		return "", fmt.Errorf("%w: safe mode is not configured", ErrBadRequest)
	}
	if !aes && !h.plain {
		return "", fmt.Errorf("%w: plaintext message refused: safe mode is configured", ErrBadSignature)
	}
	// Check what can be checked before reading the body.
	if !aes || q.signature != "" {
		if !CheckSignature(q.signature, h.token, q.timestamp, q.nonce) {
			return "", ErrBadSignature
		}
	}
	if aes && len(q.msgSignature) != sigHexLen {
		return "", ErrBadSignature
	}
	if !validParam(q.timestamp) || !validParam(q.nonce) {
		// The nonce is echoed in the encrypted reply: keep it plain.
		return "", fmt.Errorf("%w: timestamp or nonce is not printable ASCII", ErrBadRequest)
	}

	body, err := h.readBody(c, bufs.body[:0])
	bufs.body = body
	if err != nil {
		return "", err
	}

	var in bot.Inbound
	keyIndex := 0
	if aes {
		var f rawFields
		if err := parseFields(body, &f); err != nil {
			return "", err
		}
		if len(f.encrypt) == 0 {
			return "", fmt.Errorf("%w: no Encrypt", ErrMalformed)
		}
		sig := msgSignatureBytes(h.token, q.timestamp, q.nonce, f.encrypt)
		if !equalHex(&sig, q.msgSignature) {
			return "", ErrBadSignature
		}
		var msg []byte
		msg, keyIndex, err = h.cipher.decrypt(f.encrypt)
		if err != nil {
			return "", fmt.Errorf("wechat: decrypt: %w", err)
		}
		in, err = ParseMessage(msg)
	} else {
		in, err = ParseMessage(body)
	}
	if err != nil {
		return "", err
	}

	ctx, cancel := context.WithTimeout(c.Request.Context(), h.budget)
	reply, err := h.respond(ctx, in)
	cancel()
	if err != nil {
		return in.OpenID, err
	}
	if h.log.Enabled(c.Request.Context(), slog.LevelDebug) {
		h.log.LogAttrs(c.Request.Context(), slog.LevelDebug, "wechat message",
			slog.String("open_id", in.OpenID), slog.String("kind", string(in.Kind)),
			slog.String("msg_id", in.MsgID), slog.String("text", in.Text),
			slog.String("event", in.Event), slog.String("reply", reply.Text))
	}
	if reply.Empty() {
		h.writeText(c, http.StatusOK, "success")
		return in.OpenID, nil
	}

	now := h.now()
	out := AppendTextReply(bufs.out[:0], in.OpenID, in.AccountID, now, reply.Text)
	if aes {
		var ts [20]byte
		var random [randomLen]byte
		randomFill(&random)
		n := len(out)
		out, err = appendSealed(out, h.cipher, keyIndex, &random, h.token,
			string(strconv.AppendInt(ts[:0], now.Unix(), 10)), q.nonce, out)
		if err != nil {
			bufs.out = out
			return in.OpenID, fmt.Errorf("%w: seal reply: %v", errInternal, err)
		}
		bufs.out = out
		out = out[n:]
	} else {
		bufs.out = out
	}
	c.Writer.Header()["Content-Type"] = h.ctXML
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(out)
	return in.OpenID, nil
}

// writeText sends a text/plain response.
func (h *Handler) writeText(c *gin.Context, status int, body string) {
	c.Writer.Header()["Content-Type"] = h.ctText
	c.Status(status)
	_, _ = c.Writer.WriteString(body)
}

// respond calls the Responder, turning a panic into an error.
func (h *Handler) respond(ctx context.Context, in bot.Inbound) (reply bot.Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "wechat responder panicked",
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("%w: responder panicked", errInternal)
		}
	}()
	return h.resp.Respond(ctx, in), nil
}

// readBody reads the request body into buf, up to h.maxBody bytes.
func (h *Handler) readBody(c *gin.Context, buf []byte) ([]byte, error) {
	req := c.Request
	if req.ContentLength > h.maxBody {
		return buf, ErrTooLarge
	}
	if req.Body == nil || req.Body == http.NoBody {
		return buf, nil
	}
	if n := int(req.ContentLength); n > 0 && cap(buf) < n {
		buf = make([]byte, 0, n+1) // +1: room to see EOF without growing
	}
	r := http.MaxBytesReader(c.Writer, req.Body, h.maxBody)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return buf, ErrTooLarge
			}
			return buf, fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
		}
	}
}

// statusOf maps a webhook error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBadSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errInternal):
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// writeError writes the short text body for err and returns its status.
func (h *Handler) writeError(c *gin.Context, err error) int {
	status := statusOf(err)
	var body string
	switch status {
	case http.StatusUnauthorized:
		body = "invalid signature\n"
	case http.StatusRequestEntityTooLarge:
		body = "request body too large\n"
	case http.StatusInternalServerError:
		body = "internal error\n"
	default:
		body = "bad request\n"
	}
	h.writeText(c, status, body)
	return status
}

// logRequest writes the access line: at info only the method, status,
// latency and a hash of the OpenID; the error detail at debug.
func (h *Handler) logRequest(ctx context.Context, method string, status int, start time.Time, openID string, err error) {
	if status >= 500 {
		h.log.LogAttrs(ctx, slog.LevelError, "wechat webhook failed",
			slog.String("method", method), slog.Int("status", status), slog.String("error", err.Error()))
	}
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := [5]slog.Attr{
		slog.String("method", method),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
	}
	n := 3
	if openID != "" {
		attrs[n] = slog.String("open_id_hash", logid.Hash(openID))
		n++
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "wechat webhook", attrs[:n]...)
	if err != nil && status < 500 && h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, "wechat webhook rejected", slog.Int("status", status), slog.String("error", err.Error()))
	}
}

// maxParamLen bounds the length of timestamp and nonce.
const maxParamLen = 128

// validParam reports whether a timestamp or nonce is short printable ASCII
// (WeChat sends digits).
func validParam(s string) bool {
	if len(s) > maxParamLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// needsUnescape reports whether a query key or value has escapes.
func needsUnescape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}

// query holds the query parameters the webhook reads.
type query struct {
	signature, timestamp, nonce, echostr, encryptType, msgSignature string
}

// parseQuery extracts the webhook's parameters from a raw query string,
// keeping the first value of each like url.Values.Get, without building a
// map. Pairs that url.ParseQuery would reject are skipped.
func parseQuery(raw string) query {
	var q query
	var seen uint8
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		if needsUnescape(key) {
			k, err := url.QueryUnescape(key)
			if err != nil {
				continue
			}
			key = k
		}
		var dst *string
		var bit uint8
		switch key {
		case "signature":
			dst, bit = &q.signature, 1
		case "timestamp":
			dst, bit = &q.timestamp, 2
		case "nonce":
			dst, bit = &q.nonce, 4
		case "echostr":
			dst, bit = &q.echostr, 8
		case "encrypt_type":
			dst, bit = &q.encryptType, 16
		case "msg_signature":
			dst, bit = &q.msgSignature, 32
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		if needsUnescape(value) {
			v, err := url.QueryUnescape(value)
			if err != nil {
				continue
			}
			value = v
		}
		*dst, seen = value, seen|bit
	}
	return q
}
