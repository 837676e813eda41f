// Package ginauth serves auth over HTTP with Gin: sign-in and sign-out,
// the middleware that finds who is calling, role checks, and the account
// administration routes of the JSON API.
//
// A caller proves who it is with a bearer token (Authorization: Bearer
// <token>, for programs) or with the kefu_session cookie that sign-in sets
// (for the panel and the editor in a browser). Writes authenticated by the
// cookie must also carry the X-CSRF-Token header, equal to the kefu_csrf
// cookie (which the page's JavaScript reads) and derived from the session
// token, so another site cannot make a signed-in browser write. Bearer
// requests need no CSRF token: browsers never add that header on their
// own.
package ginauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/internal/apierr"
)

// Names of the cookies and the CSRF header.
const (
	// SessionCookie holds the session token; HttpOnly.
	SessionCookie = "kefu_session"
	// CSRFCookie holds the CSRF token, readable by the page's JavaScript.
	CSRFCookie = "kefu_csrf"
	// CSRFHeader must repeat the CSRF cookie on cookie-authenticated
	// writes.
	CSRFHeader = "X-CSRF-Token"
)

// CodeCSRF is the error code of a write refused for a missing or wrong
// CSRF token.
const CodeCSRF = "csrf"

// maxBody bounds the JSON bodies of these routes.
const maxBody = 16 << 10

// Options configure a Handler.
type Options struct {
	Service *auth.Service
	// Logger receives sign-in failures (info), refusals by the rate limit
	// (warn) and server faults (error); nil logs nothing.
	Logger *slog.Logger
	// ClientIP returns the address a request came from, for the per
	// address sign-in limit. Nil uses gin's Context.ClientIP, which
	// believes X-Forwarded-For only from the engine's trusted proxies:
	// set those (gin.Engine.SetTrustedProxies) to the load balancers.
	ClientIP func(c *gin.Context) string
}

// Handler serves the routes of accounts and sessions; create it with New
// and mount it with Register.
type Handler struct {
	svc      *auth.Service
	log      *slog.Logger
	clientIP func(c *gin.Context) string
}

// New returns a Handler over opts.Service.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("ginauth: a service is required")
	}
	h := &Handler{svc: opts.Service, log: opts.Logger, clientIP: opts.ClientIP}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.clientIP == nil {
		h.clientIP = (*gin.Context).ClientIP
	}
	return h, nil
}

// Register mounts the routes on r, normally the /api/v1 group:
//
//	POST  /login        {username,password} → {token,expires_at,csrf_token,account}; sets the cookies
//	POST  /logout       ends the caller's session; clears the cookies
//	GET   /me           the caller's account
//	POST  /me/password  {current,password}: ends the caller's other sessions
//	GET   /agents       every account (admin)
//	POST  /agents       {username,password,name,role,lanes,capacity} (admin)
//	GET   /agents/:id   one account (admin)
//	PATCH /agents/:id   {name,role,lanes,capacity,disabled,password}, each optional (admin)
func (h *Handler) Register(r gin.IRouter) {
	r.POST("/login", h.login)
	signedIn := r.Group("", h.Authenticate())
	signedIn.POST("/logout", h.logout)
	signedIn.GET("/me", h.me)
	signedIn.POST("/me/password", h.changePassword)
	admin := signedIn.Group("", Require(auth.PermManageAccounts))
	admin.GET("/agents", h.listAgents)
	admin.POST("/agents", h.createAgent)
	admin.GET("/agents/:id", h.agent)
	admin.PATCH("/agents/:id", h.patchAgent)
}

// Keys of the gin.Context values the middleware sets.
const (
	accountKey = "kefu.auth.account"
	sessionKey = "kefu.auth.session"
	tokenKey   = "kefu.auth.token"
)

// Authenticate returns the middleware that admits signed-in callers: it
// answers 401 without a valid bearer token or session cookie and 403 for
// a cookie-authenticated write without the right CSRF token, and sets
// the account for AccountFrom.
func (h *Handler) Authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, viaCookie, ok := credentials(c.Request)
		if !ok {
			h.writeError(c, auth.ErrUnauthenticated)
			return
		}
		a, sess, err := h.svc.Authenticate(c.Request.Context(), token)
		if err != nil {
			h.writeError(c, err)
			return
		}
		if viaCookie && !safeMethod(c.Request.Method) && !validCSRF(c.Request, token) {
			apierr.Abort(c, http.StatusForbidden, CodeCSRF,
				"a write signed in by cookie needs the "+CSRFHeader+" header, equal to the "+CSRFCookie+" cookie")
			return
		}
		c.Set(accountKey, a)
		c.Set(sessionKey, sess)
		c.Set(tokenKey, token)
		c.Next()
	}
}

// credentials returns the token of the request: from the Authorization
// header when there is one (then it must be a well-formed bearer), else
// from the session cookie.
func credentials(r *http.Request) (token string, viaCookie, ok bool) {
	if v := r.Header.Values("Authorization"); len(v) > 0 {
		token, ok = bearer(v)
		return token, false, ok
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return "", false, false
	}
	return ck.Value, true, true
}

// bearer returns the token of the one Authorization header "Bearer
// <token>" (the scheme in any case).
func bearer(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfToken derives the CSRF token of a session token. Knowing it reveals
// nothing of the session token, and a site that plants cookies cannot
// forge it without the session token.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("kefu csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether the request's CSRF header equals its CSRF
// cookie and the token derived from its session.
func validCSRF(r *http.Request, sessionToken string) bool {
	header := r.Header.Get(CSRFHeader)
	ck, err := r.Cookie(CSRFCookie)
	if header == "" || err != nil {
		return false
	}
	want := csrfToken(sessionToken)
	return subtle.ConstantTimeCompare([]byte(header), []byte(ck.Value)) == 1 &&
		subtle.ConstantTimeCompare([]byte(header), []byte(want)) == 1
}

// AccountFrom returns the account that Authenticate admitted.
func AccountFrom(c *gin.Context) (auth.Account, bool) {
	v, ok := c.Get(accountKey)
	a, _ := v.(auth.Account)
	return a, ok
}

// SessionFrom returns the session that Authenticate admitted.
func SessionFrom(c *gin.Context) (auth.Session, bool) {
	v, ok := c.Get(sessionKey)
	s, _ := v.(auth.Session)
	return s, ok
}

// RequireRole returns the middleware that admits, after Authenticate,
// accounts of one of these roles, and admins always; others get 403.
func RequireRole(roles ...auth.Role) gin.HandlerFunc {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	msg := "this needs the role " + strings.Join(append(names, string(auth.RoleAdmin)), " or ")
	return func(c *gin.Context) {
		a, ok := AccountFrom(c)
		if !ok {
			apierr.Abort(c, http.StatusUnauthorized, apierr.CodeUnauthenticated, auth.ErrUnauthenticated.Error())
			return
		}
		if a.Role != auth.RoleAdmin && !slices.Contains(roles, a.Role) {
			apierr.Abort(c, http.StatusForbidden, apierr.CodeForbidden, msg)
			return
		}
		c.Next()
	}
}

// Require returns the middleware that admits, after Authenticate,
// accounts whose role has perm (auth.Can); others get 403.
func Require(perm auth.Perm) gin.HandlerFunc {
	return func(c *gin.Context) {
		a, ok := AccountFrom(c)
		if !ok {
			apierr.Abort(c, http.StatusUnauthorized, apierr.CodeUnauthenticated, auth.ErrUnauthenticated.Error())
			return
		}
		if !a.Can(perm) {
			apierr.Abort(c, http.StatusForbidden, apierr.CodeForbidden, "the role "+string(a.Role)+" may not "+string(perm))
			return
		}
		c.Next()
	}
}

// codes map auth's errors to statuses.
var codes = []apierr.Code{
	{Err: auth.ErrInvalid, Status: http.StatusBadRequest, Code: apierr.CodeInvalid},
	{Err: auth.ErrInvalidCredentials, Status: http.StatusUnauthorized, Code: "invalid_credentials"},
	{Err: auth.ErrUnauthenticated, Status: http.StatusUnauthorized, Code: apierr.CodeUnauthenticated},
	{Err: auth.ErrDisabled, Status: http.StatusForbidden, Code: "account_disabled"},
	{Err: auth.ErrForbidden, Status: http.StatusForbidden, Code: apierr.CodeForbidden},
	{Err: auth.ErrNotFound, Status: http.StatusNotFound, Code: apierr.CodeNotFound},
	{Err: auth.ErrConflict, Status: http.StatusConflict, Code: apierr.CodeConflict},
	{Err: auth.ErrRateLimited, Status: http.StatusTooManyRequests, Code: apierr.CodeRateLimited},
}

// writeError answers err, with Retry-After on a rate limit and
// WWW-Authenticate on a missing or bad token.
func (h *Handler) writeError(c *gin.Context, err error) {
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		c.Header("Retry-After", strconv.Itoa(int(rl.RetryAfter/time.Second)))
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		c.Header("WWW-Authenticate", `Bearer realm="kefu"`)
	}
	apierr.Write(c, h.log, err, codes...)
}

// setCookies sets (maxAge > 0) or clears (maxAge < 0) the session and
// CSRF cookies. They are Secure when the request came over TLS, also to
// a proxy in front that says so.
func setCookies(c *gin.Context, token, csrf string, maxAge int) {
	secure := c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
	for _, ck := range []*http.Cookie{
		{Name: SessionCookie, Value: token, HttpOnly: true},
		{Name: CSRFCookie, Value: csrf},
	} {
		ck.Path, ck.MaxAge, ck.Secure, ck.SameSite = "/", maxAge, secure, http.SameSiteStrictMode
		http.SetCookie(c.Writer, ck)
	}
}
