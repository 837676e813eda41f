package kb

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termKind says what a term was made from; each kind carries its own weight.
type termKind uint8

const (
	kindHan1  termKind = iota // one CJK character
	kindHan2                  // two adjacent CJK characters
	kindHan3                  // three adjacent CJK characters
	kindWord                  // one Latin (or other alphabetic) word, lower-cased and lightly stemmed
	kindWord2                 // two adjacent words
	kindChar3                 // a character trigram inside a word, with ^ and $ as word boundaries
	numKinds
)

// term is one hashed n-gram of a text.
type term struct {
	h uint64
	k termKind
}

// runeClass is how the analyzer treats a rune after folding.
type runeClass uint8

const (
	classSep    runeClass = iota // punctuation and symbols: end CJK runs and word sequences
	classSpace                   // whitespace: ends a word, but CJK text continues across it
	classCJK                     // Han, kana, hangul: indexed as character n-grams
	classWord                    // letters, digits and marks of other scripts: indexed as words
	classIgnore                  // apostrophes: dropped inside words ("don't" → "dont")
)

// analyzer turns text into terms. It keeps its buffers between calls, so one
// analyzer must not be used by two goroutines at once.
type analyzer struct {
	run      []rune // current CJK run
	word     []rune // current word
	prevWord uint64 // hash of the previous word in the current word sequence
	hasPrev  bool
	terms    []term
}

// analyze returns the terms of s, in text order, with repeats. The returned
// slice is owned by the analyzer and valid until the next call.
func (a *analyzer) analyze(s string) []term {
	a.terms = a.terms[:0]
	a.run = a.run[:0]
	a.word = a.word[:0]
	a.hasPrev = false
	for _, r := range s {
		r = fold(r)
		switch classify(r) {
		case classCJK:
			a.endWord()
			a.hasPrev = false
			a.run = append(a.run, r)
		case classWord:
			if len(a.run) > 0 {
				a.endRun()
			}
			a.word = append(a.word, r)
		case classSpace:
			a.endWord()
		case classIgnore:
		default:
			a.endWord()
			a.hasPrev = false
			a.endRun()
		}
	}
	a.endWord()
	a.endRun()
	return a.terms
}

func (a *analyzer) emit(h uint64, k termKind) {
	a.terms = append(a.terms, term{h: h, k: k})
}

// endRun emits the n-grams of the current CJK run. Particles and function
// words of two or three characters split the run, as word boundaries would:
// n-grams across them are mostly noise (的客, 么学). Single-character function
// words (我, 被) are dropped as unigrams but kept inside n-grams (被盗).
func (a *analyzer) endRun() {
	r := a.run
	start := 0
	for i := 0; i < len(r); {
		n := 0
		switch {
		case isParticle(r[i]):
			n = 1
		case i+3 <= len(r) && isStop(kindHan3, r[i:i+3]):
			n = 3
		case i+2 <= len(r) && isStop(kindHan2, r[i:i+2]):
			n = 2
		}
		if n == 0 {
			i++
			continue
		}
		a.emitNgrams(r[start:i])
		i += n
		start = i
	}
	a.emitNgrams(r[start:])
	a.run = a.run[:0]
}

// emitNgrams emits the uni-, bi- and trigrams of a CJK segment.
func (a *analyzer) emitNgrams(r []rune) {
	for i := range r {
		if h := hashRunes(kindHan1, r[i:i+1]); !isStopHash(h) {
			a.emit(h, kindHan1)
		}
		if i+2 <= len(r) {
			a.emit(hashRunes(kindHan2, r[i:i+2]), kindHan2)
		}
		if i+3 <= len(r) {
			a.emit(hashRunes(kindHan3, r[i:i+3]), kindHan3)
		}
	}
}

func isStop(k termKind, rs []rune) bool {
	return isStopHash(hashRunes(k, rs))
}

func isStopHash(h uint64) bool {
	_, ok := stopHashes[h]
	return ok
}

// isParticle reports whether r is a Chinese modal or structural particle.
func isParticle(r rune) bool {
	switch r {
	case '的', '了', '吗', '呢', '吧', '啊', '呀', '嘛', '哦', '啦', '么':
		return true
	}
	return false
}

func (a *analyzer) endWord() {
	if len(a.word) == 0 {
		return
	}
	w := stem(a.word)
	h := hashRunes(kindWord, w)
	_, stop := stopHashes[h]
	if !stop {
		a.emit(h, kindWord)
	}
	if a.hasPrev {
		a.emit(mix(a.prevWord*0x9e3779b97f4a7c15^h^uint64(kindWord2)<<56), kindWord2)
	}
	a.prevWord, a.hasPrev = h, true
	if !stop && len(w) >= 4 && allLetters(w) {
		// Trigrams over "^word$" catch inflections and small typos.
		n := len(w) + 2
		for i := 0; i+3 <= n; i++ {
			hh := seedOf(kindChar3)
			for j := i; j < i+3; j++ {
				var r rune
				switch {
				case j == 0:
					r = '^'
				case j == n-1:
					r = '$'
				default:
					r = w[j-1]
				}
				hh = (hh ^ uint64(r)) * fnvPrime
			}
			a.emit(mix(hh), kindChar3)
		}
	}
	a.word = a.word[:0]
}

// stem strips a plural ending from a lower-case word, in place.
func stem(w []rune) []rune {
	n := len(w)
	if n <= 3 || w[n-1] != 's' {
		return w
	}
	switch {
	case w[n-2] == 'e' && w[n-3] == 'i' && n > 4:
		w[n-3] = 'y'
		return w[:n-2]
	case w[n-2] == 's' || w[n-2] == 'u' || w[n-2] == 'i':
		return w
	}
	return w[:n-1]
}

func allLetters(w []rune) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

const fnvPrime = 0x100000001b3

func seedOf(k termKind) uint64 {
	return 0xcbf29ce484222325 ^ (uint64(k)+1)*0x9e3779b97f4a7c15
}

func hashRunes(k termKind, rs []rune) uint64 {
	h := seedOf(k)
	for _, r := range rs {
		h = (h ^ uint64(r)) * fnvPrime
	}
	return mix(h)
}

// mix is the splitmix64 finalizer.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// fold maps a rune to its normal form: full-width ASCII to half-width, the
// ideographic space to a space, common traditional characters to simplified
// ones, and letters to lower case.
func fold(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r == 0x3000:
		return ' '
	}
	if s, ok := t2s[r]; ok {
		return s
	}
	return unicode.ToLower(r)
}

func classify(r rune) runeClass {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', 'A' <= r && r <= 'Z':
			return classWord
		case r == ' ', r == '\t', r == '\n', r == '\r', r == '\v', r == '\f':
			return classSpace
		case r == '\'':
			return classIgnore
		}
		return classSep
	}
	if isCJK(r) {
		return classCJK
	}
	switch {
	case r == '’':
		return classIgnore
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r):
		return classWord
	case unicode.IsSpace(r):
		return classSpace
	}
	return classSep
}

func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r))
}

// DetectEnglish reports whether text is mostly Latin letters, that is whether
// it looks like it was written by an English-speaking user. Letters are
// counted after full-width folding; a CJK character counts as two letters,
// since one carries about as much meaning as a short word. Digits, spaces and
// punctuation are ignored, and at least two Latin letters are required.
func DetectEnglish(text string) bool {
	latin, other := 0, 0
	for _, r := range text {
		r = fold(r)
		switch {
		case r < utf8.RuneSelf:
			if 'a' <= r && r <= 'z' {
				latin++
			}
		case unicode.Is(unicode.Latin, r):
			latin++
		case isCJK(r):
			other += 2
		case unicode.IsLetter(r):
			other++
		}
	}
	return latin >= 2 && latin > other
}

// idf is the inverse document frequency of a term found in df of n articles.
// Unknown terms (df = 0) get the weight of a term found in one.
func idf(n, df int) float64 {
	if df < 1 {
		df = 1
	}
	return math.Log(1 + float64(n)/float64(df))
}

// stopWords are function words, in English and in Chinese (characters and
// words). They are not indexed as terms: the document frequencies of a small
// knowledge base cannot tell that 明天 or 什么 are everyday words, and in a
// large one their long postings would only cost time. English ones still link
// their neighbours into word bigrams ("how long", "log in").
const stopWords = "a an the i me my mine we our you your he she it its they them their " +
	"is am are was were be been being do does did have has had will would shall should " +
	"can could may might must to of in on at by for with from about as into and or but if " +
	"so than then there here this that these those what which who whom when where why how " +
	"not no any some all please hi hello thank thanks just also very get got good like know tell " +
	stopWordsZH

const stopWordsZH = "的 了 吗 呢 吧 啊 呀 嘛 哦 么 是 在 有 和 与 也 都 就 还 很 我 你 您 他 她 它 们 " +
	"这 那 个 一 些 要 会 能 可 以 把 被 让 给 对 到 去 来 说 哪 什 怎 为 得 地 着 过 " +
	"什么 怎么 怎样 怎么样 为什么 哪里 哪儿 哪个 可以 能不 不能 一下 一个 这个 那个 我的 你的 " +
	"我们 你们 他们 现在 今天 明天 昨天 时候 知道 请问 你好 是不 是不是 有没 有没有 没有 会不 会不会 " +
	"不会 应该 需要 一般 如果 因为 所以 但是 然后 还是 或者 已经 就是 这样 那样 怎么办 一些 有些 帮我 " +
	"想要 我想 我要 一直 为啥 咋办 咋样 推荐 告诉 介绍 帮忙 请教 问问 问下 麻烦"

// stopHashes holds the word hashes of stopWords. It is built once and only
// read afterwards.
var stopHashes = func() map[uint64]struct{} {
	m := make(map[uint64]struct{})
	for _, w := range strings.Fields(stopWords) {
		rs := []rune(w)
		if isCJK(rs[0]) {
			m[hashRunes(kindHan1+termKind(len(rs)-1), rs)] = struct{}{}
			continue
		}
		m[hashRunes(kindWord, stem(rs))] = struct{}{}
	}
	return m
}()
