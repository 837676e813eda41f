package apierr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/kefuhq/kefu/internal/apierr"
)

var errMissing = errors.New("thing: not found")

func TestWrite(t *testing.T) {
	gin.SetMode(gin.TestMode)
	codes := []apierr.Code{{Err: errMissing, Status: http.StatusNotFound, Code: apierr.CodeNotFound}}
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code, msg  string
		wantLogged bool
	}{
		{"Error", fmt.Errorf("wrapped: %w", apierr.New(http.StatusConflict, "taken", "the name is taken")),
			http.StatusConflict, "taken", "the name is taken", false},
		{"Mapped", fmt.Errorf("thing 42: %w", errMissing), http.StatusNotFound, apierr.CodeNotFound, "thing 42: thing: not found", false},
		{"Internal", errors.New("disk on fire at /var/lib/kefu"), http.StatusInternalServerError, apierr.CodeInternal, "internal error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			r := gin.New()
			r.GET("/x", func(c *gin.Context) { apierr.Write(c, log, tc.err, codes...) },
				func(c *gin.Context) { c.String(http.StatusOK, "the chain was not aborted") })
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
			var body apierr.Body
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != tc.status || body.Error.Code != tc.code || body.Error.Message != tc.msg {
				t.Errorf("got %d %+v, want %d %s %q", w.Code, body.Error, tc.status, tc.code, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if logged := strings.Contains(logs.String(), "disk on fire"); logged != tc.wantLogged {
				t.Errorf("logged = %v, want %v: %q", logged, tc.wantLogged, logs.String())
			}
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	type req struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct {
		name, ctype, body string
		status            int // 0: decoded
	}{
		{"OK", "application/json", `{"name":"小王"}`, 0},
		{"OKCharset", "application/json; charset=utf-8", ` {"name":"x"} `, 0},
		{"Form", "application/x-www-form-urlencoded", `{"name":"x"}`, http.StatusUnsupportedMediaType},
		{"NoType", "", `{"name":"x"}`, http.StatusUnsupportedMediaType},
		{"Empty", "application/json", ``, http.StatusBadRequest},
		{"Unknown", "application/json", `{"name":"x","admin":true}`, http.StatusBadRequest},
		{"Type", "application/json", `{"name":1}`, http.StatusBadRequest},
		{"Trailing", "application/json", `{"name":"x"}{}`, http.StatusBadRequest},
		{"TrailingBrace", "application/json", `{"name":"x"}}`, http.StatusBadRequest},
		{"TooLarge", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			var v req
			err := apierr.DecodeRequest(r, 64, &v)
			var e *apierr.Error
			switch {
			case tc.status == 0 && err != nil:
				t.Errorf("DecodeRequest: %v", err)
			case tc.status != 0 && (!errors.As(err, &e) || e.Status != tc.status):
				t.Errorf("DecodeRequest: err = %v, want an *Error with status %d", err, tc.status)
			}
		})
	}
}
