package semantic_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kefuhq/kefu/kb"
	"github.com/kefuhq/kefu/kb/semantic"
)

// randomEmbedder answers random unit vectors at once: the benchmarks
// measure the index, not an endpoint.
type randomEmbedder struct{ dim int }

func (e randomEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		v := make([]float32, e.dim)
		var n2 float64
		for j := range v {
			v[j] = rand.Float32()*2 - 1
			n2 += float64(v[j] * v[j])
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n2))
		}
		out[i] = v
	}
	return out, nil
}

// BenchmarkRerank measures one Rerank, its question's vector cached, over
// a knowledge base of articles with 10 questions each (title included):
// the brute-force cost of semantic matching per message.
func BenchmarkRerank(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		for _, dim := range []int{256, 1536} {
			b.Run(fmt.Sprintf("vectors=%d/dim=%d", n, dim), func(b *testing.B) {
				articles := make([]kb.Article, n/10)
				for i := range articles {
					a := &articles[i]
					a.ID, a.Title, a.Question = fmt.Sprint("a", i), fmt.Sprint("title ", i), fmt.Sprint("question ", i)
					a.Status = kb.StatusPublished
					for j := range 8 {
						a.Similar = append(a.Similar, fmt.Sprint("similar ", i, " ", j))
					}
				}
				ix := mustIndex(b, semantic.Options{Embedder: randomEmbedder{dim}})
				mustBuild(b, ix, articles)
				ctx := context.Background()
				ix.Rerank(ctx, "question 1", nil, 5)
				b.ResetTimer()
				for b.Loop() {
					ix.Rerank(ctx, "question 1", nil, 5)
				}
			})
		}
	}
}

// BenchmarkRerankEndpoint measures one Rerank whose question is not cached,
// against the local fake endpoint: the client's own overhead per message.
func BenchmarkRerankEndpoint(b *testing.B) {
	f := newFixture(b, semantic.Options{})
	mustBuild(b, f.ix, testArticles())
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if st := f.ix.Rerank(ctx, fmt.Sprint("我要退款 ", i), nil, 5); len(st) == 0 {
			b.Fatal("no match")
		}
	}
	if st := f.ix.Stats(); st.Fallbacks > 0 {
		b.Fatalf("stats = %+v", st)
	}
}
