// Package semantictest is a fake OpenAI embeddings endpoint for tests:
// POST /v1/embeddings answers deterministic vectors, hashed bags of
// Chinese characters and other words, so that texts sharing them are
// close. Synonyms teach it paraphrases that share none, as a real model
// knows them. It can be made slow or failing, and counts what it embedded.
//
//	srv := semantictest.NewServer(t, nil)
//	e, _ := semantic.NewOpenAI(semantic.Config{BaseURL: srv.BaseURL()})
package semantictest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// DefaultDim is the vector length when neither Handler.Dim nor the request
// sets one.
const DefaultDim = 64

// Handler serves POST /v1/embeddings (also mounted elsewhere: any path
// ending in /embeddings) in the OpenAI format, with float vectors. Set its
// fields before serving; the Set methods may be called at any time. It is
// safe for concurrent use.
type Handler struct {
	// Dim is the vector length unless the request asks for dimensions;
	// 0 means DefaultDim.
	Dim int
	// APIKey, when set, must come as the bearer token; other requests get
	// 401.
	APIKey string
	// Synonyms replaces each key by its value in a text before hashing
	// (longest key first), so that paraphrases sharing no character can be
	// made close.
	Synonyms map[string]string

	mu       sync.Mutex
	status   int
	delay    time.Duration
	requests int
	inputs   int
	seen     map[string]int
}

// SetStatus makes every later request fail with this HTTP status and an
// OpenAI error body; 0 or 200 makes them succeed again.
func (h *Handler) SetStatus(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = code
}

// SetDelay makes every later request wait d (or until the client gives up)
// before answering.
func (h *Handler) SetDelay(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay = d
}

// Requests returns how many embedding requests arrived.
func (h *Handler) Requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

// Inputs returns how many texts were embedded, over all successful
// requests.
func (h *Handler) Inputs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inputs
}

// Seen returns how many times text was embedded.
func (h *Handler) Seen(text string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[text]
}

// embeddingRequest is the part of the OpenAI request the fake reads.
type embeddingRequest struct {
	Input          json.RawMessage `json:"input"`
	Model          string          `json:"model"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

// ServeHTTP answers one embeddings request, after the delay, with the
// status set, or 401 for a wrong key.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/embeddings") {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	h.mu.Lock()
	h.requests++
	status, delay := h.status, h.delay
	h.mu.Unlock()
	var req embeddingRequest
	var texts []string
	err := json.NewDecoder(r.Body).Decode(&req)
	if err == nil {
		// Read to the end, so that the server notices a client giving up.
		_, err = io.Copy(io.Discard, r.Body)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if h.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.APIKey {
		writeError(w, http.StatusUnauthorized, "Incorrect API key provided.")
		return
	}
	if status != 0 && status != http.StatusOK {
		writeError(w, status, http.StatusText(status))
		return
	}
	if err := json.Unmarshal(req.Input, &texts); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			writeError(w, http.StatusBadRequest, "input must be a string or an array of strings")
			return
		}
		texts = []string{one}
	}
	if req.Model == "" || len(texts) == 0 || req.EncodingFormat != "" && req.EncodingFormat != "float" {
		writeError(w, http.StatusBadRequest, "want a model, some input and the float encoding")
		return
	}
	dim := req.Dimensions
	if dim <= 0 {
		dim = h.Dim
	}
	if dim <= 0 {
		dim = DefaultDim
	}
	type datum struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	data := make([]datum, len(texts))
	tokens := 0
	for i, t := range texts {
		data[i] = datum{Object: "embedding", Embedding: h.Vector(t, dim), Index: i}
		tokens += len([]rune(t))
	}
	h.mu.Lock()
	h.inputs += len(texts)
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	for _, t := range texts {
		h.seen[t]++
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// Vector returns the fake embedding of text: after the synonyms are
// replaced, each Chinese character and each other word (lower-cased
// letters and digits) adds ±1 to a dimension chosen by its hash, and each
// pair of neighbouring ones ±0.5. The vector is deliberately not of unit
// length, as some servers answer; clients normalise.
func (h *Handler) Vector(text string, dim int) []float32 {
	// Longest first, so that the result does not depend on map order.
	froms := slices.SortedFunc(maps.Keys(h.Synonyms), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	for _, from := range froms {
		text = strings.ReplaceAll(text, from, h.Synonyms[from])
	}
	v := make([]float32, dim)
	prev := ""
	word := []rune(nil)
	feature := func(f string) {
		add(v, f, 1)
		if prev != "" {
			add(v, prev+" "+f, 0.5)
		}
		prev = f
	}
	for _, r := range strings.ToLower(text) + " " {
		switch {
		case unicode.Is(unicode.Han, r):
			if len(word) > 0 {
				feature(string(word))
				word = word[:0]
			}
			feature(string(r))
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			word = append(word, r)
		default:
			if len(word) > 0 {
				feature(string(word))
				word = word[:0]
			}
		}
	}
	return v
}

// add adds ±w to the dimension of v that feature hashes to.
func add(v []float32, feature string, w float32) {
	h := fnv.New64a()
	h.Write([]byte(feature))
	x := h.Sum64()
	if x>>63 == 1 {
		w = -w
	}
	v[x%uint64(len(v))] += w
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "code": fmt.Sprint(status),
	}})
}

// Server is a Handler behind a local HTTP server.
type Server struct {
	*Handler
	// URL is the server's root, without /v1.
	URL string
}

// NewServer serves h (nil: a Handler with default fields) until the test
// ends.
func NewServer(tb testing.TB, h *Handler) *Server {
	tb.Helper()
	if h == nil {
		h = &Handler{}
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return &Server{Handler: h, URL: srv.URL}
}

// BaseURL returns the base URL a client is configured with: URL + "/v1".
func (s *Server) BaseURL() string { return s.URL + "/v1" }
