package semantic

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// DefaultModel is the embedding model used when Config.Model is empty.
const DefaultModel = "text-embedding-3-small"

// Defaults of Config.
const (
	DefaultBatch    = 64
	DefaultParallel = 2
	DefaultTimeout  = 30 * time.Second
)

// Config configures an OpenAI-compatible embeddings client.
type Config struct {
	// BaseURL is the API root that /embeddings is appended to, e.g.
	// https://api.openai.com/v1, https://NAME.openai.azure.com/openai/v1,
	// https://dashscope.aliyuncs.com/compatible-mode/v1 or
	// http://localhost:11434/v1 (Ollama). Required.
	BaseURL string
	// APIKey is sent as a bearer token; empty sends none (a local server).
	APIKey string
	// Model names the embedding model; empty means DefaultModel.
	Model string
	// Dimensions asks models that can shorten their vectors (OpenAI's
	// text-embedding-3-*) for this many; 0 leaves the model's own.
	Dimensions int
	// Timeout bounds each request; 0 means DefaultTimeout. A caller's
	// context may end it sooner.
	Timeout time.Duration
	// Batch is how many texts go in one request; 0 means DefaultBatch.
	Batch int
	// Parallel is how many requests one Embed call keeps in flight; 0
	// means DefaultParallel.
	Parallel int
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
}

// OpenAI is an Embedder over an OpenAI-compatible embeddings endpoint. It
// is safe for concurrent use.
type OpenAI struct {
	client   *openai.Client
	model    string
	dims     int
	timeout  time.Duration
	batch    int
	parallel int
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns a client of the endpoint cfg describes. It makes no
// request; the error is for a configuration that cannot work.
func NewOpenAI(cfg Config) (*OpenAI, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("semantic: base URL %q: want an http(s) URL", cfg.BaseURL)
	}
	if cfg.Dimensions < 0 || cfg.Batch < 0 || cfg.Parallel < 0 || cfg.Timeout < 0 {
		return nil, errors.New("semantic: dimensions, batch, parallel and timeout must not be negative")
	}
	o := &OpenAI{
		model: cmp.Or(cfg.Model, DefaultModel), dims: cfg.Dimensions, timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
		batch: cmp.Or(cfg.Batch, DefaultBatch), parallel: cmp.Or(cfg.Parallel, DefaultParallel),
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		oc.HTTPClient = &http.Client{Timeout: o.timeout}
	}
	o.client = openai.NewClientWithConfig(oc)
	return o, nil
}

// Model names the vector space: the model, and the dimensions when set.
// Vectors of different spaces are not comparable.
func (o *OpenAI) Model() string {
	if o.dims > 0 {
		return o.model + "/" + strconv.Itoa(o.dims)
	}
	return o.model
}

// Embed embeds texts in batches of Config.Batch, Config.Parallel requests
// at a time, and scales each vector to unit length. The first failed
// request fails the call.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	out := make([][]float32, len(texts))
	if len(texts) <= o.batch {
		if err := o.embedBatch(ctx, texts, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.parallel)
	for start := 0; start < len(texts); start += o.batch {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		end := min(start+o.batch, len(texts))
		wg.Go(func() {
			defer func() { <-sem }()
			if err := o.embedBatch(ctx, texts[start:end], out[start:end]); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for i, v := range out {
		if len(v) != len(out[0]) {
			return nil, fmt.Errorf("semantic: embed %d texts with %s: vector %d has %d dimensions, vector 0 has %d: %w",
				len(texts), o.model, i, len(v), len(out[0]), ErrBadResponse)
		}
	}
	return out, nil
}

// embedBatch embeds texts into out (of the same length) with one request.
func (o *OpenAI) embedBatch(ctx context.Context, texts []string, out [][]float32) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := o.client.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input: texts, Model: openai.EmbeddingModel(o.model), Dimensions: o.dims,
		EncodingFormat: openai.EmbeddingEncodingFormatFloat,
	})
	if err != nil {
		return fmt.Errorf("semantic: embed %d texts with %s: %w", len(texts), o.model, err)
	}
	if len(res.Data) != len(texts) {
		return fmt.Errorf("semantic: embed %d texts with %s: got %d vectors: %w", len(texts), o.model, len(res.Data), ErrBadResponse)
	}
	dim := len(res.Data[0].Embedding)
	for _, d := range res.Data {
		if d.Index < 0 || d.Index >= len(texts) || out[d.Index] != nil || len(d.Embedding) != dim || dim == 0 {
			return fmt.Errorf("semantic: embed %d texts with %s: vector %d of %d dimensions (first has %d): %w",
				len(texts), o.model, d.Index, len(d.Embedding), dim, ErrBadResponse)
		}
		normalize(d.Embedding)
		out[d.Index] = d.Embedding
	}
	return nil
}
