package kb

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func FuzzSearch(f *testing.F) {
	articles, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	ix := NewIndex(articles)
	for _, a := range articles[:10] {
		f.Add(a.Question, 3)
	}
	for _, s := range []string{"", " ", "人工", "ＡＢＣ", "帳號", "\xff\xfe", "a'b’c", "的了吗", "🙂🙂", "e\u0301", "ｉＰｈｏｎｅ升级", "how do I report a scam", "12315"} {
		f.Add(s, 5)
	}
	f.Add("客服", 100)
	// Erasure: mixed scripts, repeats, and past its unit limit.
	f.Add("my 微信 account 被冻结了 frozen 怎么办", 5)
	f.Add(strings.Repeat("冻结", 70)+" why", 5)
	f.Add(strings.Repeat("a ", 200), 1)
	f.Fuzz(func(t *testing.T, query string, k int) {
		k %= 100
		ms := ix.Search(query, k)
		if k <= 0 && ms != nil {
			t.Fatalf("Search(%q, %d) = %v, want nil", query, k, ms)
		}
		if len(ms) > k && k >= 0 {
			t.Fatalf("Search(%q, %d) returned %d matches", query, k, len(ms))
		}
		checkMatches(t, ms)
		DetectEnglish(query)
	})
}

func FuzzParse(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"a","question":"q","answer":"x","kind":"faq","status":"published"}]`))
	f.Add([]byte(`[{"id":"a","question":"q","answer":"x","kind":"boundary","status":"draft","similar":["s"],"tags":["t"]}]`))
	f.Add([]byte(`[{"id":"a"},{"id":"a"}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"a"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		articles, err := Parse(data)
		if err != nil {
			if articles != nil {
				t.Fatalf("Parse returned articles with error %v", err)
			}
			return
		}
		ids := make(map[string]bool)
		for _, a := range articles {
			if err := Validate(a); err != nil {
				t.Fatalf("Parse accepted an invalid article: %v", err)
			}
			if ids[a.ID] {
				t.Fatalf("Parse accepted duplicate id %q", a.ID)
			}
			ids[a.ID] = true
		}
		// A round trip through JSON gives the same articles.
		out, err := json.Marshal(articles)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(articles)) = %v", err)
		}
		out2, _ := json.Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the articles:\n%s\n%s", out, out2)
		}
		// Whatever parses can be indexed and searched.
		ix := NewIndex(articles)
		for _, a := range articles[:min(3, len(articles))] {
			checkMatches(t, ix.Search(a.Question, 3))
		}
	})
}
