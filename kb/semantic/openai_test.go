package semantic_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kefuhq/kefu/kb/semantic"
	"github.com/kefuhq/kefu/kb/semantic/semantictest"
)

func mustOpenAI(tb testing.TB, cfg semantic.Config) *semantic.OpenAI {
	tb.Helper()
	e, err := semantic.NewOpenAI(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestOpenAIEmbed(t *testing.T) {
	srv := semantictest.NewServer(t, &semantictest.Handler{APIKey: "sk-test"})
	e := mustOpenAI(t, semantic.Config{BaseURL: srv.BaseURL() + "/", APIKey: "sk-test", Batch: 3, Parallel: 2})
	texts := make([]string, 10)
	for i := range texts {
		texts[i] = fmt.Sprintf("问题 %d question", i)
	}
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests(); got != 4 {
		t.Errorf("requests = %d, want 4 (10 texts in batches of 3)", got)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != semantictest.DefaultDim {
			t.Fatalf("vector %d has %d dimensions, want %d", i, len(v), semantictest.DefaultDim)
		}
		var n2, d float64
		want := srv.Vector(texts[i], len(v))
		var w2 float64
		for j := range v {
			n2 += float64(v[j]) * float64(v[j])
			d += float64(v[j]) * float64(want[j])
			w2 += float64(want[j]) * float64(want[j])
		}
		if math.Abs(n2-1) > 1e-5 {
			t.Errorf("vector %d has squared norm %g, want 1", i, n2)
		}
		if cos := d / math.Sqrt(w2); math.Abs(cos-1) > 1e-5 {
			t.Errorf("vector %d is not the fake's vector of text %d (cosine %g): out of order?", i, i, cos)
		}
	}
}

func TestOpenAIDimensions(t *testing.T) {
	srv := semantictest.NewServer(t, nil)
	e := mustOpenAI(t, semantic.Config{BaseURL: srv.BaseURL(), Model: "m", Dimensions: 16})
	vecs, err := e.Embed(context.Background(), []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs[0]) != 16 || e.Model() != "m/16" {
		t.Errorf("got %d dimensions in space %q, want 16 in m/16", len(vecs[0]), e.Model())
	}
}

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		status  int
		delay   time.Duration
		handler http.HandlerFunc // replaces the fake
		want    error
	}{
		{name: "ErrUnauthorized", key: "wrong"},
		{name: "ErrServer", key: "sk-test", status: http.StatusInternalServerError},
		{name: "ErrRateLimited", key: "sk-test", status: http.StatusTooManyRequests},
		{name: "ErrDeadline", key: "sk-test", delay: 10 * time.Second, want: context.DeadlineExceeded},
		{name: "ErrBadResponse", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"object":"list","data":[{"embedding":[1,0],"index":0}]}`))
		}, want: semantic.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := ""
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				base = srv.URL + "/v1"
			} else {
				srv := semantictest.NewServer(t, &semantictest.Handler{APIKey: "sk-test"})
				srv.SetStatus(tt.status)
				srv.SetDelay(tt.delay)
				base = srv.BaseURL()
			}
			e := mustOpenAI(t, semantic.Config{BaseURL: base, APIKey: tt.key, Timeout: 200 * time.Millisecond})
			start := time.Now()
			_, err := e.Embed(context.Background(), []string{"你好", "再见"})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Embed = %v, want an error (%v)", err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Embed took %v, past its 200ms timeout", d)
			}
		})
	}
}

func TestNewOpenAIErrors(t *testing.T) {
	for _, cfg := range []semantic.Config{
		{},
		{BaseURL: "localhost:11434/v1"},
		{BaseURL: "ftp://example.com"},
		{BaseURL: "http://localhost/v1", Dimensions: -1},
	} {
		if _, err := semantic.NewOpenAI(cfg); err == nil {
			t.Errorf("NewOpenAI(%+v) = nil error", cfg)
		}
	}
}
