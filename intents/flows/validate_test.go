package flows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kefuhq/kefu/intents/flows"
)

// now is the fixed clock of the validator tests: 2026-11-25 10:00 in
// China.
var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// checkCase is one answer to one input and what Check must make of it.
type checkCase struct {
	name string
	in   *flows.Input
	a    flows.Answer
	now  time.Time // zero: now
	want string
	ok   bool
}

func runCheck(t *testing.T, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got, ok := tt.in.Check(tt.a, at)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Check(%q) = %q, %v; want %q, %v", tt.a.Text, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func text(s string) flows.Answer { return flows.Answer{Text: s} }

// mustInput parses a one-question flow whose input is the YAML flow
// mapping input, so that its pattern is compiled as when loaded.
func mustInput(tb testing.TB, input string) *flows.Input {
	tb.Helper()
	src := "id: probe\ntitle: Probe\nlane: normal\nsteps:\n" +
		"  - id: question\n    kind: ask\n    field: v\n    text: Q\n    input: " + input + "\n" +
		"  - id: done\n    kind: end\n    text: Done\n"
	fl, err := flows.Parse("probe.yaml", []byte(src), nil)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return fl[0].Steps[0].Input
}

func TestCheckChoice(t *testing.T) {
	period := &flows.Input{Type: flows.InputChoice, Choices: []string{"近1个月", "近3个月", "近6个月", "自定义时间段"}}
	english := &flows.Input{Type: flows.InputChoice, Choices: []string{"Card", "Balance"}}
	overlap := &flows.Input{Type: flows.InputChoice, Choices: []string{"银行卡扣款", "零钱扣款"}}
	runCheck(t, []checkCase{
		{"OKNumber", period, text("2"), time.Time{}, "近3个月", true},
		{"OKNumberFullWidth", period, text("２"), time.Time{}, "近3个月", true},
		{"OKOrdinal", period, text("第3个"), time.Time{}, "近6个月", true},
		{"OKNumberWithStop", period, text("4。"), time.Time{}, "自定义时间段", true},
		{"OKExactText", period, text("近6个月"), time.Time{}, "近6个月", true},
		{"OKExactTextCaseless", english, text("balance"), time.Time{}, "Balance", true},
		{"OKContainsChoice", period, text("我要近3个月的"), time.Time{}, "近3个月", true},
		{"OKContainedInChoice", period, text("自定义"), time.Time{}, "自定义时间段", true},
		{"ErrAmbiguous", overlap, text("扣款"), time.Time{}, "", false},
		{"ErrAmbiguousBoth", overlap, text("银行卡扣款和零钱扣款"), time.Time{}, "", false},
		{"ErrNumberZero", period, text("0"), time.Time{}, "", false},
		{"ErrNumberOutOfRange", period, text("5"), time.Time{}, "", false},
		{"ErrNumberNegative", period, text("-1"), time.Time{}, "", false},
		{"ErrOneRunePart", period, text("近"), time.Time{}, "", false},
		{"ErrNoMatch", period, text("随便"), time.Time{}, "", false},
		{"ErrEmpty", period, text("　 "), time.Time{}, "", false},
	})
}

func TestCheckNumber(t *testing.T) {
	plain := &flows.Input{Type: flows.InputNumber}
	count := &flows.Input{Type: flows.InputNumber, Min: 1, Max: 20}
	runCheck(t, []checkCase{
		{"OK", plain, text("12"), time.Time{}, "12", true},
		{"OKZero", plain, text("0"), time.Time{}, "0", true},
		{"OKFullWidth", plain, text("１２"), time.Time{}, "12", true},
		{"OKSpaces", plain, text(" 1 200 "), time.Time{}, "1200", true},
		{"OKThousands", plain, text("1,200"), time.Time{}, "1200", true},
		{"OKUnit次", count, text("3次"), time.Time{}, "3", true},
		{"OKUnit笔", count, text("3 笔"), time.Time{}, "3", true},
		{"OKUnit个", count, text("3个"), time.Time{}, "3", true},
		{"OKUnit天", count, text("3天"), time.Time{}, "3", true},
		{"OKMin", count, text("1"), time.Time{}, "1", true},
		{"OKMax", count, text("20"), time.Time{}, "20", true},
		{"ErrBelowMin", count, text("0"), time.Time{}, "", false},
		{"ErrAboveMax", count, text("21"), time.Time{}, "", false},
		{"ErrNegative", plain, text("-5"), time.Time{}, "", false},
		{"ErrNegativeChinese", plain, text("负5"), time.Time{}, "", false},
		{"ErrUnknownUnit", plain, text("9岁"), time.Time{}, "", false},
		{"ErrDecimal", plain, text("2.5"), time.Time{}, "", false},
		{"ErrWords", plain, text("三"), time.Time{}, "", false},
		{"ErrOverflow", plain, text("99999999999999999999"), time.Time{}, "", false},
	})
}

func TestCheckAmount(t *testing.T) {
	plain := &flows.Input{Type: flows.InputAmount}
	capped := &flows.Input{Type: flows.InputAmount, Max: 5000}
	runCheck(t, []checkCase{
		{"OKYuanSign", plain, text("￥1,280.50"), time.Time{}, "1280.50", true},
		{"OKHalfWidthSign", plain, text("¥99"), time.Time{}, "99.00", true},
		{"OKUnit元", plain, text("648元"), time.Time{}, "648.00", true},
		{"OKUnit块", plain, text("30块"), time.Time{}, "30.00", true},
		{"OKUnitRMB", plain, text("100 RMB"), time.Time{}, "100.00", true},
		{"OKOneDecimal", plain, text("0.5"), time.Time{}, "0.50", true},
		{"OKFullWidth", plain, text("１２８．５"), time.Time{}, "128.50", true},
		{"OKChineseComma", plain, text("1，280"), time.Time{}, "1280.00", true},
		{"ErrCommasNotThousands", plain, text("1,2,3"), time.Time{}, "", false},
		{"OKMax", capped, text("5000"), time.Time{}, "5000.00", true},
		{"ErrAboveMax", capped, text("5000.01"), time.Time{}, "", false},
		{"ErrNegative", plain, text("-5"), time.Time{}, "", false},
		{"ErrThreeDecimals", plain, text("1.005"), time.Time{}, "", false},
		{"ErrZero", plain, text("0"), time.Time{}, "", false},
		{"ErrZeroDecimals", plain, text("0.00"), time.Time{}, "", false},
		{"ErrExponent", plain, text("1e5"), time.Time{}, "", false},
		{"ErrTooLong", plain, text("1234567890123"), time.Time{}, "", false},
		{"ErrWords", plain, text("六百"), time.Time{}, "", false},
	})
}

func TestCheckDate(t *testing.T) {
	d := &flows.Input{Type: flows.InputDate}
	recent := &flows.Input{Type: flows.InputDate, MaxDaysAgo: 30}
	january := time.Date(2027, 1, 5, 9, 0, 0, 0, now.Location())
	runCheck(t, []checkCase{
		{"OKISO", d, text("2026-11-20"), time.Time{}, "2026-11-20", true},
		{"OKISOShort", d, text("2026-1-5"), time.Time{}, "2026-01-05", true},
		{"OKSlashes", d, text("2026/11/20"), time.Time{}, "2026-11-20", true},
		{"OKDots", d, text("2026.11.20"), time.Time{}, "2026-11-20", true},
		{"OKChinese", d, text("2026年11月20日"), time.Time{}, "2026-11-20", true},
		{"OKChinese号", d, text("2026年11月20号"), time.Time{}, "2026-11-20", true},
		{"OKSpaces", d, text("2026 年 11 月 20 日"), time.Time{}, "2026-11-20", true},
		{"OKMonthDay", d, text("11月20日"), time.Time{}, "2026-11-20", true},
		{"OKMonthDayDash", d, text("11-20"), time.Time{}, "2026-11-20", true},
		{"OKMonthDaySlash", d, text("11/20"), time.Time{}, "2026-11-20", true},
		{"OKEightDigits", d, text("20261120"), time.Time{}, "2026-11-20", true},
		{"OKFullWidth", d, text("２０２６－１１－２０"), time.Time{}, "2026-11-20", true},
		{"OK今天", d, text("今天"), time.Time{}, "2026-11-25", true},
		{"OK昨天", d, text("昨天"), time.Time{}, "2026-11-24", true},
		{"OK前天", d, text("前天"), time.Time{}, "2026-11-23", true},
		{"OKYesterday", d, text("yesterday"), time.Time{}, "2026-11-24", true},
		{"OKLastYearInJanuary", d, text("12月30日"), january, "2026-12-30", true},
		{"ErrFeb29LastYearNotLeap", d, text("2月29日"), time.Date(2028, 1, 10, 9, 0, 0, 0, now.Location()), "", false},
		{"OKFeb29LeapYear", d, text("2月29日"), time.Date(2028, 3, 1, 9, 0, 0, 0, now.Location()), "2028-02-29", true},
		{"OKMaxDaysAgo", recent, text("2026-10-26"), time.Time{}, "2026-10-26", true},
		{"ErrOlderThanMaxDaysAgo", recent, text("2026-10-25"), time.Time{}, "", false},
		{"ErrOlderThanDefault", d, text("2020-01-01"), time.Time{}, "", false},
		{"ErrFuture", d, text("2026-11-26"), time.Time{}, "", false},
		{"ErrFutureYear", d, text("2027/01/01"), time.Time{}, "", false},
		{"ErrFeb30", d, text("2026-02-30"), time.Time{}, "", false},
		{"ErrFeb29NotLeap", d, text("2月29日"), time.Time{}, "", false},
		{"ErrMonth13", d, text("2026/13/01"), time.Time{}, "", false},
		{"ErrDay0", d, text("20261100"), time.Time{}, "", false},
		{"ErrWords", d, text("上周三"), time.Time{}, "", false},
	})
}

func TestCheckPhone(t *testing.T) {
	p := &flows.Input{Type: flows.InputPhone}
	runCheck(t, []checkCase{
		{"OKMainland", p, text("13800138000"), time.Time{}, "13800138000", true},
		{"OKPlus86Separators", p, text("+86 138-0013-8000"), time.Time{}, "13800138000", true},
		{"OK0086", p, text("0086 13800138000"), time.Time{}, "13800138000", true},
		{"OKBrackets", p, text("(+86) 138 0013 8000"), time.Time{}, "13800138000", true},
		{"OKFullWidth", p, text("１３８００１３８０００"), time.Time{}, "13800138000", true},
		{"OKInternational", p, text("+447911123456"), time.Time{}, "+447911123456", true},
		{"OKInternational00", p, text("0044 7911 123456"), time.Time{}, "+447911123456", true},
		{"ErrShort", p, text("12345"), time.Time{}, "", false},
		{"ErrLandline", p, text("010-12345678"), time.Time{}, "", false},
		{"ErrMainland12Digits", p, text("138001380001"), time.Time{}, "", false},
		{"ErrSecondDigit", p, text("12800138000"), time.Time{}, "", false},
		{"ErrPlus86NotMobile", p, text("+8612345"), time.Time{}, "", false},
		{"ErrPlus86Twice", p, text("+86+8600000"), time.Time{}, "", false},
		{"ErrPlus86International", p, text("0086 +447911123456"), time.Time{}, "", false},
		{"ErrPlusZero", p, text("+0123456789"), time.Time{}, "", false},
		{"ErrInternationalTooLong", p, text("+1234567890123456"), time.Time{}, "", false},
		{"ErrLetters", p, text("138OO138OOO"), time.Time{}, "", false},
	})
}

func TestCheckIDCard(t *testing.T) {
	id := &flows.Input{Type: flows.InputIDCard}
	runCheck(t, []checkCase{
		{"OK", id, text("11010519491231002X"), time.Time{}, "11010519491231002X", true},
		{"OKLowerX", id, text("11010519491231002x"), time.Time{}, "11010519491231002X", true},
		{"OKSpaces", id, text("110105 19491231 002X"), time.Time{}, "11010519491231002X", true},
		{"OKLeapDay", id, text("440308200002291231"), time.Time{}, "440308200002291231", true},
		{"ErrChecksum", id, text("110105194912310021"), time.Time{}, "", false},
		{"ErrBornInTheFuture", id, text("11010520300101001X"), time.Time{}, "", false},
		{"ErrBirthFeb30", id, text("110105194902300020"), time.Time{}, "", false},
		{"ErrBirthFeb29NotLeap", id, text("440308200102291239"), time.Time{}, "", false},
		{"ErrShort", id, text("11010519491231002"), time.Time{}, "", false},
		{"ErrLeadingZero", id, text("01010519491231002X"), time.Time{}, "", false},
		{"ErrXInside", id, text("1101051949123100X2"), time.Time{}, "", false},
	})
}

func TestCheckPattern(t *testing.T) {
	receipt := mustInput(t, `{type: pattern, pattern: "[A-Z]\\d{5,20}"}`)
	runCheck(t, []checkCase{
		{"OK", receipt, text("A20261125001"), time.Time{}, "A20261125001", true},
		{"OKUpperCasedCompacted", receipt, text("a 2026-1125 001"), time.Time{}, "A20261125001", true},
		{"ErrTooShort", receipt, text("A1234"), time.Time{}, "", false},
		{"ErrWholeAnswer", receipt, text("回执号A20261125001"), time.Time{}, "", false},
	})
	t.Run("ErrNotCompiled", func(t *testing.T) {
		in := &flows.Input{Type: flows.InputPattern, Pattern: ".*"}
		if v, ok := in.Check(text("anything"), now); ok {
			t.Errorf("an input not loaded through Parse accepted %q", v)
		}
	})
}

func TestCheckText(t *testing.T) {
	def := &flows.Input{Type: flows.InputText}
	short := &flows.Input{Type: flows.InputText, MinLen: 5, MaxLen: 10}
	runCheck(t, []checkCase{
		{"OK", def, text("转错账了"), time.Time{}, "转错账了", true},
		{"OKTrimmed", def, text("  转错账了\n"), time.Time{}, "转错账了", true},
		{"OKDefaultMin", def, text("好的"), time.Time{}, "好的", true},
		{"OKMinRunes", short, text("一二三四五"), time.Time{}, "一二三四五", true},
		{"OKMaxRunes", short, text("一二三四五六七八九十"), time.Time{}, "一二三四五六七八九十", true},
		{"OKDefaultMax", def, text(strings.Repeat("字", 500)), time.Time{}, strings.Repeat("字", 500), true},
		{"ErrDefaultMin", def, text("好"), time.Time{}, "", false},
		{"ErrDefaultMax", def, text(strings.Repeat("字", 501)), time.Time{}, "", false},
		{"ErrBelowMin", short, text("一二三四"), time.Time{}, "", false},
		{"ErrAboveMax", short, text("一二三四五六七八九十一"), time.Time{}, "", false},
		{"ErrTooManyBytes", &flows.Input{Type: flows.InputText, MaxLen: 5000}, text(strings.Repeat("a", 4097)), time.Time{}, "", false},
		{"ErrNotUTF8", def, text("ab\xffcd"), time.Time{}, "", false},
		{"ErrOnlySpaces", def, text(" \u3000 "), time.Time{}, "", false},
	})
}

func TestCheckImage(t *testing.T) {
	img := &flows.Input{Type: flows.InputImage}
	runCheck(t, []checkCase{
		{"OK", img, flows.Answer{Media: "media-123"}, time.Time{}, "media-123", true},
		{"OKTextIgnored", img, flows.Answer{Text: "看图", Media: "https://example.com/a.jpg"}, time.Time{}, "https://example.com/a.jpg", true},
		{"ErrTextOnly", img, text("我发不了图"), time.Time{}, "", false},
		{"ErrNothing", img, flows.Answer{}, time.Time{}, "", false},
	})
}

func TestCheckEmail(t *testing.T) {
	e := &flows.Input{Type: flows.InputEmail}
	runCheck(t, []checkCase{
		{"OK", e, text("name@example.com"), time.Time{}, "name@example.com", true},
		{"OKDomainLowerCased", e, text("Name@Example.COM"), time.Time{}, "Name@example.com", true},
		{"OKDashes", e, text("first-last@my-domain.com.cn"), time.Time{}, "first-last@my-domain.com.cn", true},
		{"OKPlus", e, text("a.b+bills@example.org"), time.Time{}, "a.b+bills@example.org", true},
		{"OKFullWidth", e, text("ｎａｍｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"), time.Time{}, "name@example.com", true},
		{"OKSpaces", e, text("name @ example.com"), time.Time{}, "name@example.com", true},
		{"ErrNoAt", e, text("name.example.com"), time.Time{}, "", false},
		{"ErrNoDot", e, text("name@localhost"), time.Time{}, "", false},
		{"ErrTrailingDot", e, text("name@example."), time.Time{}, "", false},
		{"ErrDisplayName", e, text("Name <name@example.com>"), time.Time{}, "", false},
		{"ErrTwoAts", e, text("a@b@example.com"), time.Time{}, "", false},
		{"ErrTooLong", e, text(strings.Repeat("a", 250) + "@example.com"), time.Time{}, "", false},
	})
}

func TestCheckCase(t *testing.T) {
	c := &flows.Input{Type: flows.InputCase}
	runCheck(t, []checkCase{
		{"OK", c, text("KF20261125-7Q4M"), time.Time{}, "KF20261125-7Q4M", true},
		{"OKInSentenceLowerCase", c, text("查询进度 kf20261125-7q4m"), time.Time{}, "KF20261125-7Q4M", true},
		{"OKNoHyphen", c, text("KF202611257Q4M"), time.Time{}, "KF20261125-7Q4M", true},
		{"OKFullWidth", c, text("ＫＦ２０２６１１２５－７Ｑ４Ｍ"), time.Time{}, "KF20261125-7Q4M", true},
		{"ErrBadDate", c, text("KF20261325-7Q4M"), time.Time{}, "", false},
		{"ErrMisreadLetters", c, text("KF20261125-7O4M"), time.Time{}, "", false},
		{"ErrNone", c, text("查询进度"), time.Time{}, "", false},
	})
}

func TestCheckUnknownType(t *testing.T) {
	for _, ty := range []flows.InputType{"", "colour"} {
		in := &flows.Input{Type: ty}
		if v, ok := in.Check(text("anything"), now); ok {
			t.Errorf("type %q accepted %q", ty, v)
		}
	}
}

func TestMaskIDCard(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ID", "11010519491231002X", "1101**********002X"},
		{"Nine", "123456789", "1234*6789"},
		{"Eight", "12345678", "********"},
		{"Short", "123", "***"},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flows.MaskIDCard(tt.in); got != tt.want {
				t.Errorf("MaskIDCard(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
