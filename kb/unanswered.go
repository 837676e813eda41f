package kb

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strings"
)

// UnansweredGroup is a group of near-identical unanswered questions: what
// the editor sees in the unanswered queue.
type UnansweredGroup struct {
	// ID names the group by its leading text; the editor still finds the
	// group by an earlier leader's ID while it holds that text (see
	// Editor.DismissUnanswered).
	ID string `json:"id"`
	// Text is the leading text: the one recorded most often.
	Text string `json:"text"`
	// UnansweredStats sum up the records of all its texts.
	UnansweredStats
	// Samples are up to MaxSamples of its texts, the most frequent first.
	Samples []string `json:"samples"`
	// Texts are all its texts, the most frequent first.
	Texts []string `json:"texts"`
}

// MaxSamples is how many texts UnansweredGroup.Samples holds at most.
const MaxSamples = 5

// groupThreshold is the cosine similarity at which a text joins a group.
// Texts are compared with the matcher's own terms (CJK character n-grams,
// words), weighted by inverse document frequency over the unanswered texts,
// so only near-identical phrasings pass: a particle or punctuation more,
// traditional characters, a different case, one word more or less.
const groupThreshold = 0.7

// GroupUnanswered groups near-identical texts. Each group is led by its
// most frequent text; a text joins the group whose leader is most similar
// to it, if similar enough, or leads a new one. Texts without indexable
// terms (only punctuation or function words) group with the texts that fold
// to the same characters. Groups come most frequent first, then most
// recently seen.
func GroupUnanswered(texts []UnansweredText) []UnansweredGroup {
	texts = slices.Clone(texts)
	slices.SortFunc(texts, func(a, b UnansweredText) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.Text, b.Text))
	})
	vecs := termVectors(texts)

	var (
		groups   []UnansweredGroup
		postings = map[uint64][]leaderWeight{} // term → the leaders that have it
		exact    = map[string]int{}            // folded text without terms → group
		dots     = map[int]float64{}
	)
	for i, t := range texts {
		g := -1
		if len(vecs[i]) == 0 {
			key := foldString(t.Text)
			if j, ok := exact[key]; ok {
				g = j
			} else {
				exact[key] = len(groups)
			}
		} else {
			clear(dots)
			for h, w := range vecs[i] {
				for _, lw := range postings[h] {
					dots[lw.group] += w * lw.w
				}
			}
			best := 0.0
			for j, d := range dots {
				if d >= groupThreshold && (d > best || d == best && j < g) {
					g, best = j, d
				}
			}
			if g < 0 {
				for h, w := range vecs[i] {
					postings[h] = append(postings[h], leaderWeight{group: len(groups), w: w})
				}
			}
		}
		if g < 0 {
			groups = append(groups, UnansweredGroup{ID: groupID(t.Text), Text: t.Text})
			g = len(groups) - 1
		}
		groups[g].add(t)
	}
	slices.SortStableFunc(groups, func(a, b UnansweredGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastSeen.Compare(a.LastSeen), strings.Compare(a.ID, b.ID))
	})
	return groups
}

type leaderWeight struct {
	group int
	w     float64
}

func (g *UnansweredGroup) add(t UnansweredText) {
	g.UnansweredStats.add(t.UnansweredStats)
	if len(g.Samples) < MaxSamples {
		g.Samples = append(g.Samples, t.Text)
	}
	g.Texts = append(g.Texts, t.Text)
}

// groupID names a group after its leading text.
func groupID(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:8])
}

// termVectors returns the unit term vector of each text: the analyzer's
// terms, weighted by (1 + log tf) × idf over the texts.
func termVectors(texts []UnansweredText) []map[uint64]float64 {
	var an analyzer
	tfs := make([]map[uint64]int, len(texts))
	df := map[uint64]int{}
	for i, t := range texts {
		tf := map[uint64]int{}
		for _, term := range an.analyze(t.Text) {
			tf[term.h]++
		}
		for h := range tf {
			df[h]++
		}
		tfs[i] = tf
	}
	vecs := make([]map[uint64]float64, len(texts))
	for i, tf := range tfs {
		v := make(map[uint64]float64, len(tf))
		var norm float64
		for h, n := range tf {
			w := (1 + math.Log(float64(n))) * idf(len(texts), df[h])
			v[h] = w
			norm += w * w
		}
		norm = math.Sqrt(norm)
		for h := range v {
			v[h] /= norm
		}
		vecs[i] = v
	}
	return vecs
}

// foldString folds s as the analyzer does and drops whitespace.
func foldString(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r = fold(r); classify(r) != classSpace {
			b.WriteRune(r)
		}
	}
	return b.String()
}
