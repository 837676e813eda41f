package kb

import (
	"fmt"
	"strings"
	"testing"
)

func TestFeatureUnits(t *testing.T) {
	var fz featurizer
	occ := fz.features("PIN sent 冻结, then sent")
	if fz.units != 6 {
		t.Fatalf("units = %d, want 6 (pin sent 冻 结 then sent)", fz.units)
	}
	spans := map[uint64][]unitSpan{}
	for _, o := range occ {
		spans[o.h] = append(spans[o.h], o.sp)
	}
	word := func(w string) uint64 { return hashRunes(clsWord, []rune(w)) }
	bigram := func(a, b string) uint64 { return mix(word(a)*0x9e3779b97f4a7c15 ^ word(b) ^ clsWord2<<56) }
	for _, tt := range []struct {
		name string
		h    uint64
		want []unitSpan
	}{
		{"word pin", word("pin"), []unitSpan{{0, 0, false}}},
		{"word sent, twice", word("sent"), []unitSpan{{1, 1, false}, {5, 5, false}}},
		{"bigram pin sent", bigram("pin", "sent"), []unitSpan{{0, 1, true}}},
		// The words around a CJK run still make a bigram; it is made
		// of those two words only.
		{"bigram sent then", bigram("sent", "then"), []unitSpan{{1, 4, true}}},
		{"CJK 冻", hashRunes(clsHan+1, []rune("冻")), []unitSpan{{2, 2, false}}},
		{"CJK 冻结", hashRunes(clsHan+2, []rune("冻结")), []unitSpan{{2, 3, false}}},
		{"chars ' pi'", hashRunes(clsChars+3, []rune(" pi")), []unitSpan{{0, 0, true}}},
		{"chars 'n s', twice", hashRunes(clsChars+3, []rune("n s")), []unitSpan{{0, 1, true}, {4, 5, true}}},
	} {
		got := spans[tt.h]
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: spans %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		sp   unitSpan
		want []uint16
	}{
		{unitSpan{1, 4, true}, []uint16{1, 4}}, // a bigram around CJK text: its two words only
		{unitSpan{2, 2, true}, []uint16{2}},
		{unitSpan{2, 5, false}, []uint16{2, 3, 4, 5}},
		{unitSpan{noUnit, 0, true}, nil},
	} {
		if got := tt.sp.appendUnits(nil); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%v.appendUnits = %v, want %v", tt.sp, got, tt.want)
		}
	}
}

// erasureKB is a small banking knowledge base with enough questions per
// article for the classifier to count.
func erasureKB() []Article {
	arts := []struct {
		id string
		qs []string
	}{
		{"pin-blocked", []string{"my pin is blocked", "pin blocked after too many wrong attempts", "how do I unblock my pin",
			"I entered the wrong pin three times and now it is blocked", "unblock my pin please", "my pin got locked",
			"the pin is locked, what can I do", "why is my pin blocked", "I typed the wrong pin and the card is blocked", "can you unlock my pin"}},
		{"card-delivery", []string{"when will my card arrive", "how long does card delivery take", "my card has not arrived yet",
			"how many days until the card is delivered", "where is my new card", "track the delivery of my card",
			"the card still has not come in the mail", "estimated delivery time of a card", "is my card on its way", "card delivery status"}},
		{"top-up", []string{"how do I top up my account", "top up with a bank card", "can I add money by card", "ways to top up",
			"adding money to my account", "top up failed", "how to put money in", "top up limits", "load money onto the account", "top up by transfer"}},
		{"exchange-rate", []string{"what exchange rate do you use", "how is the exchange rate set", "exchange rate for euros",
			"is the exchange rate fair", "where do I see the exchange rate", "the exchange rate looks wrong", "currency conversion rate",
			"rate for converting dollars", "how often does the exchange rate change", "today's exchange rate"}},
	}
	var out []Article
	for _, a := range arts {
		out = append(out, Article{ID: a.id, Question: a.qs[0], Similar: a.qs[1:], Answer: "…", Kind: KindFAQ, Status: StatusPublished})
	}
	return out
}

// TestErasureLowersOneWordMatches checks what erasure is for: a question
// that shares one telling word with an article loses more of its score
// than one that restates the article in several words, and very short and
// very long queries are left alone.
func TestErasureLowersOneWordMatches(t *testing.T) {
	off := defaultParams
	off.erasure = 0
	with, without := newIndex(erasureKB(), defaultParams), newIndex(erasureKB(), off)
	drop := func(q, want string) float64 {
		t.Helper()
		a, b := with.Search(q, 1), without.Search(q, 1)
		if len(a) == 0 || len(b) == 0 || a[0].Article.ID != want || b[0].Article.ID != want {
			t.Fatalf("Search(%q) = %v / %v, want %s with and without erasure", q, a, b, want)
		}
		if a[0].Score > b[0].Score {
			t.Errorf("Search(%q): erasure raised the score from %.3f to %.3f", q, b[0].Score, a[0].Score)
		}
		return b[0].Score - a[0].Score
	}
	oneWord := drop("how is my pin sent to me", "pin-blocked")
	several := drop("my pin is blocked, how do I unblock it", "pin-blocked")
	t.Logf("erasure lowered the one-word match by %.3f, the several-word match by %.3f", oneWord, several)
	if oneWord <= several {
		t.Errorf("erasure lowered a one-word match by %.3f, a several-word match by %.3f; want more for the one-word match", oneWord, several)
	}
	if d := drop("pin blocked", "pin-blocked"); d != 0 {
		t.Errorf("a two-unit query lost %.3f to erasure, want none", d)
	}
	long := "how is my pin sent to me" + strings.Repeat(" please", maxErasureUnits)
	if d := drop(long, "pin-blocked"); d != 0 {
		t.Errorf("a query of more than %d units lost %.3f to erasure, want none", maxErasureUnits, d)
	}
}

// TestErasureLongQuery searches with more units than a unit number holds:
// the last ones share a number, and nothing breaks.
func TestErasureLongQuery(t *testing.T) {
	ix := newIndex(erasureKB(), defaultParams)
	for _, q := range []string{strings.Repeat("pin ", 70000) + "blocked", strings.Repeat("冻结", 40000) + " my pin is blocked"} {
		ms := ix.Search(q, 3)
		checkMatches(t, ms)
		if len(ms) == 0 {
			t.Errorf("Search(%d bytes) found nothing", len(q))
		}
	}
}
