package semantictest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := &Handler{Dim: 8, APIKey: "k", Synonyms: map[string]string{"退钱": "退款"}}
	tests := []struct {
		name, method, path, body, key string
		status, vectors, dim          int
	}{
		{name: "OK", method: "POST", path: "/v1/embeddings", body: `{"model":"m","input":["退钱","hello world"]}`, key: "k", status: 200, vectors: 2, dim: 8},
		{name: "OneString", method: "POST", path: "/embeddings", body: `{"model":"m","input":"x","dimensions":4}`, key: "k", status: 200, vectors: 1, dim: 4},
		{name: "ErrKey", method: "POST", path: "/v1/embeddings", body: `{"model":"m","input":"x"}`, key: "bad", status: 401},
		{name: "ErrPath", method: "POST", path: "/v1/chat/completions", body: `{}`, key: "k", status: 404},
		{name: "ErrMethod", method: "GET", path: "/v1/embeddings", key: "k", status: 404},
		{name: "ErrJSON", method: "POST", path: "/v1/embeddings", body: `{`, key: "k", status: 400},
		{name: "ErrInput", method: "POST", path: "/v1/embeddings", body: `{"model":"m","input":[1,2]}`, key: "k", status: 400},
		{name: "ErrFormat", method: "POST", path: "/v1/embeddings", body: `{"model":"m","input":"x","encoding_format":"base64"}`, key: "k", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+tt.key)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var res struct {
				Data []struct {
					Embedding []float32 `json:"embedding"`
				} `json:"data"`
				Error *struct{ Message string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if tt.status != http.StatusOK {
				if res.Error == nil || res.Error.Message == "" {
					t.Errorf("error body = %s, want an OpenAI error", w.Body)
				}
				return
			}
			if len(res.Data) != tt.vectors || len(res.Data[0].Embedding) != tt.dim {
				t.Errorf("got %d vectors of %d, want %d of %d", len(res.Data), len(res.Data[0].Embedding), tt.vectors, tt.dim)
			}
		})
	}
	if h.Seen("退钱") != 1 || h.Inputs() != 3 {
		t.Errorf("Seen = %d, Inputs = %d, want 1 and 3", h.Seen("退钱"), h.Inputs())
	}
	a, b := h.Vector("我要退钱", 8), h.Vector("我要退款", 8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("synonyms not applied: %v != %v", a, b)
		}
	}
}
