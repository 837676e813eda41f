package flows

import (
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kefuhq/kefu/cases"
)

// Answer is what the user sent to an ask step.
type Answer struct {
	Text string
	// Media is the picture's reference (URL or media id) when the user sent
	// one.
	Media string
}

// Default bounds of the inputs.
const (
	defaultMinLen     = 2
	defaultMaxLen     = 500
	defaultMaxDaysAgo = 3 * 365
	maxAnswerBytes    = 4096
)

// Check checks an answer and returns the value to keep, normalised (a
// choice as written in the definition, an amount with two decimals, a date
// as 2006-01-02, a phone number without separators). now dates relative
// answers (今天, 11月20日).
func (in *Input) Check(a Answer, now time.Time) (string, bool) {
	if in.Type == InputImage {
		if a.Media == "" {
			return "", false
		}
		return a.Media, true
	}
	if len(a.Text) > maxAnswerBytes || !utf8.ValidString(a.Text) {
		return "", false
	}
	text := fold(a.Text)
	if text == "" {
		return "", false
	}
	switch in.Type {
	case InputChoice:
		return in.choice(text)
	case InputNumber:
		return in.number(text)
	case InputAmount:
		return in.amount(text)
	case InputDate:
		return in.date(text, now)
	case InputPhone:
		return phone(text)
	case InputIDCard:
		return idCard(text, now)
	case InputPattern:
		v := strings.ToUpper(compact(text))
		if in.re == nil || !in.re.MatchString(v) {
			return "", false
		}
		return v, true
	case InputText:
		n := utf8.RuneCountInString(text)
		lo, hi := or(in.MinLen, defaultMinLen), or(in.MaxLen, defaultMaxLen)
		if n < lo || n > hi {
			return "", false
		}
		return text, true
	case InputEmail:
		return email(text)
	case InputCase:
		return cases.FindID(text)
	}
	return "", false
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// fold turns full-width ASCII into ASCII, the ideographic space into a
// space, and trims.
func fold(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s))
}

// compact drops spaces, dashes and brackets, which people type inside
// numbers.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r), r == '-', r == '(', r == ')', r == '（', r == '）':
			return -1
		}
		return r
	}, s)
}

// dropSpaces drops the spaces in s.
func dropSpaces(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func (in *Input) choice(text string) (string, bool) {
	key := strings.ToLower(strings.TrimRight(text, "。.!！"))
	if n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(key, "个"), "第")); err == nil {
		if n >= 1 && n <= len(in.Choices) {
			return in.Choices[n-1], true
		}
		return "", false
	}
	found := ""
	for i, c := range in.Choices {
		labels := []string{c}
		if i < len(in.ChoicesEN) {
			labels = append(labels, in.ChoicesEN[i])
		}
		for _, label := range labels {
			lc := strings.ToLower(label)
			if key == lc {
				return c, true
			}
			if found != c && (strings.Contains(key, lc) || strings.Contains(lc, key) && utf8.RuneCountInString(key) >= 2) {
				if found != "" {
					return "", false // ambiguous
				}
				found = c
			}
		}
	}
	return found, found != ""
}

// choiceLabel is the label of choice value v in the user's language.
func (in *Input) choiceLabel(v string, english bool) string {
	if !english {
		return v
	}
	for i, c := range in.Choices {
		if c == v && i < len(in.ChoicesEN) {
			return in.ChoicesEN[i]
		}
	}
	return v
}

// thousands is a number with its thousands grouped by commas.
var thousands = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)

// unitSuffixes are the units people add after a count or an amount.
var unitSuffixes = []string{"元", "块", "rmb", "cny", "笔", "次", "个", "天"}

func stripUnits(s string) string {
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "负") {
		return "" // compact would drop the sign
	}
	s = strings.ToLower(dropSpaces(s))
	s = strings.TrimLeft(s, "¥￥$")
	for _, u := range unitSuffixes {
		s = strings.TrimSuffix(s, u)
	}
	if strings.Contains(s, ",") && !thousands.MatchString(s) {
		return "" // "1,2,3" is not a number
	}
	return strings.ReplaceAll(s, ",", "")
}

func (in *Input) number(text string) (string, bool) {
	s := stripUnits(text)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !in.within(float64(n)) {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

var amountPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)

func (in *Input) amount(text string) (string, bool) {
	s := stripUnits(text)
	if !amountPattern.MatchString(s) {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || !in.within(f) {
		return "", false
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', 2, 64), true
}

func (in *Input) within(v float64) bool {
	return v >= in.Min && (in.Max == 0 || v <= in.Max)
}

var (
	datePatterns = []*regexp.Regexp{
		regexp.MustCompile(`^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?号?$`),
		regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`),
	}
	monthDay = regexp.MustCompile(`^(\d{1,2})[月/.-](\d{1,2})[日号]?$`)
)

func (in *Input) date(text string, now time.Time) (string, bool) {
	s := strings.ToLower(dropSpaces(text)) // not compact: "-" separates the parts of a date
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	var d time.Time
	switch s {
	case "今天", "today":
		d = today
	case "昨天", "yesterday":
		d = today.AddDate(0, 0, -1)
	case "前天":
		d = today.AddDate(0, 0, -2)
	default:
		ok := false
		for _, p := range datePatterns {
			if m := p.FindStringSubmatch(s); m != nil {
				d, ok = makeDate(m[1], m[2], m[3], now.Location())
				break
			}
		}
		if m := monthDay.FindStringSubmatch(s); !ok && m != nil {
			if d, ok = makeDate(strconv.Itoa(now.Year()), m[1], m[2], now.Location()); ok && d.After(today) {
				d, ok = makeDate(strconv.Itoa(now.Year()-1), m[1], m[2], now.Location()) // "12月30日" said in January
			}
		}
		if !ok {
			return "", false
		}
	}
	if d.After(today) || d.Before(today.AddDate(0, 0, -or(in.MaxDaysAgo, defaultMaxDaysAgo))) {
		return "", false
	}
	return d.Format("2006-01-02"), true
}

func makeDate(y, m, d string, loc *time.Location) (time.Time, bool) {
	yy, err1 := strconv.Atoi(y)
	mm, err2 := strconv.Atoi(m)
	dd, err3 := strconv.Atoi(d)
	if err1 != nil || err2 != nil || err3 != nil || mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	t := time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, loc)
	if t.Day() != dd { // 2月30日
		return time.Time{}, false
	}
	return t, true
}

var (
	mainlandMobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	international  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func phone(text string) (string, bool) {
	s := compact(text)
	mainland := false // after +86, only a mainland mobile number
	switch {
	case strings.HasPrefix(s, "+86"):
		s, mainland = s[3:], true
	case strings.HasPrefix(s, "0086"):
		s, mainland = s[4:], true
	case strings.HasPrefix(s, "00"):
		s = "+" + s[2:]
	}
	if mainlandMobile.MatchString(s) || !mainland && international.MatchString(s) {
		return s, true
	}
	return "", false
}

var idCardPattern = regexp.MustCompile(`^[1-9][0-9]{16}[0-9X]$`)

// idCard checks a mainland resident ID number: 18 characters, a real birth
// date, and the ISO 7064 MOD 11-2 check character.
func idCard(text string, now time.Time) (string, bool) {
	s := strings.ToUpper(compact(text))
	if !idCardPattern.MatchString(s) {
		return "", false
	}
	if born, ok := makeDate(s[6:10], s[10:12], s[12:14], now.Location()); !ok || born.After(now) {
		return "", false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	if "10X98765432"[sum%11] != s[17] {
		return "", false
	}
	return s, true
}

// MaskIDCard keeps the first 4 and last 4 characters of an ID number, for
// what agents and logs see.
func MaskIDCard(v string) string {
	if len(v) <= 8 {
		return strings.Repeat("*", len(v))
	}
	return v[:4] + strings.Repeat("*", len(v)-8) + v[len(v)-4:]
}

func email(text string) (string, bool) {
	s := dropSpaces(text) // not compact: "-" is common in addresses
	if len(s) > 254 {
		return "", false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	domain := strings.ToLower(s[at+1:])
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, ".") {
		return "", false
	}
	return s[:at+1] + domain, true
}

// describe is the shape an input expects, for the default hint.
func (in *Input) describe(english bool) string {
	if h := in.hint(english); h != "" {
		return h
	}
	zh, en := "", ""
	switch in.Type {
	case InputChoice:
		var b strings.Builder
		for i, c := range in.Choices {
			fmt.Fprintf(&b, "\n%d. %s", i+1, in.choiceLabel(c, english))
		}
		zh, en = "请回复选项编号或文字："+b.String(), "Reply with the number or text of an option:"+b.String()
	case InputNumber:
		zh, en = "请输入一个整数", "Please enter a whole number"
		if in.Max > 0 {
			zh += fmt.Sprintf("（%g–%g）", in.Min, in.Max)
			en += fmt.Sprintf(" (%g–%g)", in.Min, in.Max)
		}
	case InputAmount:
		zh, en = "请输入金额，例如 128.50", "Please enter an amount, e.g. 128.50"
	case InputDate:
		zh, en = "请输入日期，例如 2026-11-20、11月20日或“昨天”，不能晚于今天", "Please enter a date such as 2026-11-20 (not in the future)"
	case InputPhone:
		zh, en = "请输入 11 位手机号，例如 13800138000", "Please enter a phone number, e.g. +8613800138000"
	case InputIDCard:
		zh, en = "请输入 18 位居民身份证号码", "Please enter the 18-character ID number"
	case InputPattern:
		zh, en = "格式不正确，请核对后重新输入", "That doesn't look right; please check and re-enter it"
	case InputText:
		zh = fmt.Sprintf("请用文字描述（%d–%d 字）", or(in.MinLen, defaultMinLen), or(in.MaxLen, defaultMaxLen))
		en = "Please describe it in words"
	case InputImage:
		zh, en = "请发送一张图片（截图或照片）", "Please send a picture (a screenshot or photo)"
	case InputEmail:
		zh, en = "请输入正确的邮箱地址，例如 name@example.com", "Please enter a valid e-mail address, e.g. name@example.com"
	case InputCase:
		zh, en = "请输入案件号，格式如 KF20261125-7Q4M", "Please enter the case number, e.g. KF20261125-7Q4M"
	}
	if english {
		return en
	}
	return zh
}
