package kb

import (
	"fmt"
	"testing"
	"time"
)

func TestGroupUnanswered(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	texts := []UnansweredText{
		{Text: "怎么申请退款", UnansweredStats: UnansweredStats{Count: 3, FirstSeen: at, LastSeen: at.Add(time.Hour), ArticleID: "refund", Score: 0.2}},
		{Text: "怎么申请退款啊？", UnansweredStats: UnansweredStats{Count: 1, FirstSeen: at.Add(time.Minute), LastSeen: at.Add(2 * time.Hour), ArticleID: "refund2", Score: 0.22}},
		{Text: "怎麼申請退款", UnansweredStats: UnansweredStats{Count: 1, FirstSeen: at.Add(-time.Minute), LastSeen: at}},
		{Text: "退款多久到账", UnansweredStats: UnansweredStats{Count: 4, FirstSeen: at, LastSeen: at}},
		{Text: "How do I get a REFUND", UnansweredStats: UnansweredStats{Count: 1, FirstSeen: at, LastSeen: at}},
		{Text: "how do i get a refund?", UnansweredStats: UnansweredStats{Count: 1, FirstSeen: at, LastSeen: at}},
		{Text: "？？", UnansweredStats: UnansweredStats{Count: 2, FirstSeen: at, LastSeen: at}},
		{Text: "？ ？", UnansweredStats: UnansweredStats{Count: 1, FirstSeen: at, LastSeen: at}},
	}
	groups := GroupUnanswered(texts)
	got := map[string][]string{}
	for _, g := range groups {
		got[g.Text] = g.Texts
	}
	want := map[string][]string{
		"怎么申请退款":                {"怎么申请退款", "怎麼申請退款", "怎么申请退款啊？"},
		"退款多久到账":                {"退款多久到账"},
		"How do I get a REFUND": {"How do I get a REFUND", "how do i get a refund?"},
		"？？":                    {"？？", "？ ？"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	g := groups[0]
	if g.Text != "怎么申请退款" || g.Count != 5 || !g.FirstSeen.Equal(at.Add(-time.Minute)) || !g.LastSeen.Equal(at.Add(2*time.Hour)) ||
		g.ArticleID != "refund2" || g.Score != 0.22 || g.ID != groupID("怎么申请退款") || len(g.Samples) != 3 {
		t.Errorf("first group = %+v", g)
	}
	if groups[1].Text != "退款多久到账" {
		t.Errorf("groups are not ordered by count: %v", groups[1].Text)
	}
}

func TestGroupUnansweredSamples(t *testing.T) {
	var texts []UnansweredText
	for i := range 8 {
		texts = append(texts, UnansweredText{Text: fmt.Sprintf("退款申请%s", string(rune('！'+i))), UnansweredStats: UnansweredStats{Count: 8 - i}})
	}
	groups := GroupUnanswered(texts)
	if len(groups) != 1 || len(groups[0].Samples) != MaxSamples || len(groups[0].Texts) != 8 || groups[0].Count != 36 {
		t.Errorf("groups = %+v", groups)
	}
}

// BenchmarkGroupUnanswered groups a full queue of distinct texts.
func BenchmarkGroupUnanswered(b *testing.B) {
	articles, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	var texts []UnansweredText
	for len(texts) < DefaultMaxUnanswered {
		for _, a := range articles {
			for _, q := range a.Questions() {
				texts = append(texts, UnansweredText{Text: fmt.Sprintf("%s %d", q, len(texts)), UnansweredStats: UnansweredStats{Count: 1}})
			}
		}
	}
	texts = texts[:DefaultMaxUnanswered]
	for b.Loop() {
		GroupUnanswered(texts)
	}
}
