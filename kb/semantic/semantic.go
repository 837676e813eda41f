// Package semantic adds optional semantic matching to the knowledge base:
// the questions of the published articles are embedded through an
// OpenAI-compatible embeddings endpoint (OpenAI, Azure OpenAI's v1 API,
// DeepSeek, Qwen in DashScope's compatible mode, a local Ollama or vLLM),
// and Index.Rerank fuses the cosine similarity of a user's question with the
// lexical scores of kb.Index.Search.
//
// It is never required: until vectors exist, and whenever the endpoint is
// slow or down, Rerank returns the lexical matches unchanged.
package semantic

import (
	"context"
	"errors"
	"math"
)

// Embedder turns texts into vectors.
type Embedder interface {
	// Embed returns one unit-length vector per text, in the order of texts,
	// all of the same length. Errors wrap ErrBadResponse when the endpoint
	// answered something unusable, and the context's error when ctx ended.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ErrBadResponse is wrapped by the errors of an Embedder whose endpoint
// answered with the wrong number of vectors or with vectors of different
// lengths.
var ErrBadResponse = errors.New("semantic: bad embeddings response")

// normalize scales v to unit length in place; a zero vector stays zero.
func normalize(v []float32) {
	var n2 float64
	for _, x := range v {
		n2 += float64(x) * float64(x)
	}
	if n2 == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n2))
	for i := range v {
		v[i] *= inv
	}
}

// dot returns the dot product of two vectors of the same length. Eight
// running sums let the CPU overlap the multiplications.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x, y := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}
