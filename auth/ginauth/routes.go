package ginauth

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/auth"
	"github.com/kefuhq/kefu/internal/apierr"
)

// loginRequest is the body of POST /login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse is the answer of POST /login.
type loginResponse struct {
	Token     string       `json:"token"`
	ExpiresAt time.Time    `json:"expires_at"`
	CSRFToken string       `json:"csrf_token"`
	Account   auth.Account `json:"account"`
}

func (h *Handler) login(c *gin.Context) {
	var req loginRequest
	if err := apierr.DecodeRequest(c.Request, maxBody, &req); err != nil {
		h.writeError(c, err)
		return
	}
	ip := h.clientIP(c)
	in, err := h.svc.Login(c.Request.Context(), req.Username, req.Password, ip)
	if err != nil {
		level := slog.LevelInfo
		if errors.Is(err, auth.ErrRateLimited) {
			level = slog.LevelWarn
		}
		h.log.Log(c.Request.Context(), level, "sign-in refused", "username", truncate(req.Username, 64), "client_ip", ip, "err", err)
		h.writeError(c, err)
		return
	}
	csrf := csrfToken(in.Token)
	setCookies(c, in.Token, csrf, int(in.Session.ExpiresAt.Sub(in.Session.CreatedAt)/time.Second))
	c.JSON(http.StatusOK, loginResponse{Token: in.Token, ExpiresAt: in.Session.ExpiresAt, CSRFToken: csrf, Account: in.Account})
}

func (h *Handler) logout(c *gin.Context) {
	if err := h.svc.Logout(c.Request.Context(), c.GetString(tokenKey)); err != nil {
		h.writeError(c, err)
		return
	}
	setCookies(c, "", "", -1)
	c.Status(http.StatusNoContent)
}

func (h *Handler) me(c *gin.Context) {
	a, _ := AccountFrom(c)
	c.JSON(http.StatusOK, a)
}

// passwordRequest is the body of POST /me/password.
type passwordRequest struct {
	Current  string `json:"current"`
	Password string `json:"password"`
}

func (h *Handler) changePassword(c *gin.Context) {
	var req passwordRequest
	if err := apierr.DecodeRequest(c.Request, maxBody, &req); err != nil {
		h.writeError(c, err)
		return
	}
	a, _ := AccountFrom(c)
	sess, _ := SessionFrom(c)
	if err := h.svc.ChangePassword(c.Request.Context(), a.ID, req.Current, req.Password, sess.Hash); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) listAgents(c *gin.Context) {
	list, err := h.svc.Accounts(c.Request.Context())
	if err != nil {
		h.writeError(c, err)
		return
	}
	if list == nil {
		list = []auth.Account{}
	}
	c.JSON(http.StatusOK, list)
}

// agentRequest is the body of POST /agents.
type agentRequest struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"` // empty: agent
	Lanes    []string  `json:"lanes"`
	Capacity int       `json:"capacity"` // 0: auth.DefaultCapacity
}

func (h *Handler) createAgent(c *gin.Context) {
	var req agentRequest
	if err := apierr.DecodeRequest(c.Request, maxBody, &req); err != nil {
		h.writeError(c, err)
		return
	}
	if req.Role == "" {
		req.Role = auth.RoleAgent
	}
	a, err := h.svc.CreateAccount(c.Request.Context(), auth.NewAccount{Username: req.Username, Password: req.Password,
		Name: req.Name, Role: req.Role, Lanes: req.Lanes, Capacity: req.Capacity})
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

func (h *Handler) agent(c *gin.Context) {
	a, err := h.svc.Account(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// patchRequest is the body of PATCH /agents/:id; absent fields stay.
type patchRequest struct {
	Name     *string    `json:"name"`
	Role     *auth.Role `json:"role"`
	Lanes    *[]string  `json:"lanes"`
	Capacity *int       `json:"capacity"`
	Disabled *bool      `json:"disabled"`
	Password *string    `json:"password"`
}

func (h *Handler) patchAgent(c *gin.Context) {
	var req patchRequest
	if err := apierr.DecodeRequest(c.Request, maxBody, &req); err != nil {
		h.writeError(c, err)
		return
	}
	a, err := h.svc.UpdateAccount(c.Request.Context(), c.Param("id"), auth.Patch{Name: req.Name, Role: req.Role,
		Lanes: req.Lanes, Capacity: req.Capacity, Disabled: req.Disabled, Password: req.Password})
	if err != nil {
		h.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// truncate cuts s to at most n bytes, for logging what a caller typed.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
