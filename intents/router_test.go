package intents

import (
	"testing"

	"github.com/kefuhq/kefu/kb"
)

func mustRouter(tb testing.TB) *Router {
	tb.Helper()
	articles, err := kb.Default()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := NewRouter(Options{Rules: DefaultRules()}, kb.NewIndex(articles))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestRouteUrgent(t *testing.T) {
	r := mustRouter(t)
	tests := []struct {
		text, rule, lane string
	}{
		{"孩子偷偷充值游戏", "minor_payment", "minor"},
		{"我儿子拿我手机在王者荣耀里充了两千多", "minor_payment", "minor"},
		{"小孩背着我给主播打赏了好几千怎么办", "minor_payment", "minor"},
		{"未成年人退款申请", "minor_payment", "minor"},
		{"My son spent $300 on game top ups without asking", "minor_payment", "minor"},
		{"号被盗了在借钱", "stolen_account", "emergency"},
		{"我的微信被盗了，别人正在用我的号到处借钱！", "stolen_account", "emergency"},
		{"有人登录了我的微信", "stolen_account", "emergency"},
		{"账号被别人登上去了", "stolen_account", "emergency"},
		{"有人冒充我找朋友借钱", "stolen_account", "emergency"},
		{"my wechat account was hacked", "stolen_account", "emergency"},
		{"被骗转账", "fraud", "emergency"},
		{"我被骗了5000块，转账给了一个刷单的", "fraud", "emergency"},
		{"遇到骗子了，钱已经转过去了", "fraud", "emergency"},
		{"I think I got scammed by a seller", "fraud", "emergency"},
		{"零钱里的钱莫名其妙少了", "fund_loss", "emergency"},
		{"银行卡被盗刷了", "fund_loss", "emergency"},
		{"there was an unauthorized payment on my card", "fund_loss", "emergency"},
		{"我转账给了网友，他不回消息了", "fraud", "emergency"},
		{"对方收了钱就把我拉黑了", "fraud", "emergency"},
		{"不是我本人操作的支付", "fund_loss", "emergency"},
		{"收到一笔陌生扣款", "fund_loss", "emergency"},
		{"莫名其妙被扣了钱", "fund_loss", "emergency"},
		{"我的号在别的手机上登录了", "stolen_account", "emergency"},
		{"遇到骗子了", "fraud", "emergency"},
		{"有人冒充客服让我转账", "fraud", "emergency"},
		{"someone pretending to be support asked me to transfer money", "fraud", "emergency"},
		{"自称警察的人要我把钱转到安全账户", "fraud", "emergency"},
		{"小孩乱花钱买游戏皮肤能退吗", "minor_payment", "minor"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			d := r.Route(tt.text)
			if d.Kind != Urgent || d.Rule != tt.rule || d.Lane != tt.lane {
				t.Errorf("Route(%q) = %s rule=%q lane=%q, want urgent %s/%s", tt.text, d.Kind, d.Rule, d.Lane, tt.rule, tt.lane)
			}
		})
	}
}

func TestRouteNotUrgent(t *testing.T) {
	r := mustRouter(t)
	for _, text := range []string{
		"怎么防止被骗",
		"防止账号被盗有什么办法",
		"诈骗电话怎么举报",
		"举报诈骗账号",
		"你们是骗子吧",
		"学生买了个东西",
		"如何预防账号被盗",
		"孩子玩游戏怎么设置青少年模式",
		"海外用户怎么联系客服",
		"紧急冻结怎么操作",
		"怎么识别冒充客服让转账的骗局",
		"如何防范冒充警察要求转账",
		"怎么辨别冒充客服要验证码",
		"怎么打开安全账户",
		"怎么防止孩子乱花钱",
		"怎么设置让孩子不能花钱",
		"给孩子买游戏机可以分期吗",
		"I claimed a refund from customer service, when will the money arrive",
		"how to spot someone pretending to be support asking for money",
	} {
		t.Run(text, func(t *testing.T) {
			if d := r.Route(text); d.Kind == Urgent {
				t.Errorf("Route(%q) = urgent %s, want not urgent", text, d.Rule)
			}
		})
	}
}

func TestRouteKinds(t *testing.T) {
	r := mustRouter(t)
	tests := []struct {
		text string
		want Kind
	}{
		{"转人工", UserRequest},
		{"人工客服", UserRequest},
		{"我要找真人", UserRequest},
		{"客服", UserRequest},
		{"I want to talk to a human", UserRequest},
		{"agent", UserRequest},
		{"人工客服怎么联系", Answer},
		{"老人打什么电话找人工", Answer},
		{"找人工", UserRequest},
		{"能不能帮我转个人工", UserRequest},
		{"叫你们领导出来", UserRequest},
		{"can I speak to someone", UserRequest},
		{"怎么转人工", UserRequest},
		{"没用", NotHelpful},
		{"不是这个", NotHelpful},
		{"that didn't help", NotHelpful},
		{"你好", Greeting},
		{"在吗？", Greeting},
		{"谢谢", Thanks},
		{"好的", Thanks},
		{"好的呢", Thanks},
		{"好的好的", Thanks},
		{"嗯嗯", Thanks},
		{"行吧", Thanks},
		{"可以了", Thanks},
		{"哦", Thanks},
		{"ok thanks", Thanks},
		{"可以吗", Fallback},
		{"算了", Thanks},
		{"好不好用", Fallback},
		{"今天中午吃什么好", Fallback},
		{"asdkjh qwe", Fallback},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if d := r.Route(tt.text); d.Kind != tt.want {
				t.Errorf("Route(%q) = %s (score %.2f), want %s", tt.text, d.Kind, d.Score, tt.want)
			}
		})
	}
}

func TestRouteBoundary(t *testing.T) {
	r := mustRouter(t)
	for _, text := range []string{
		"能帮我查一下我老婆的聊天记录吗",
		"怎么导出通讯录",
		"iPhone系统升级后微信闪退",
		"买什么理财产品收益高",
	} {
		t.Run(text, func(t *testing.T) {
			d := r.Route(text)
			if d.Kind != Boundary {
				art := ""
				if d.Article != nil {
					art = d.Article.ID
				}
				t.Errorf("Route(%q) = %s %s %.2f, want boundary", text, d.Kind, art, d.Score)
			}
		})
	}
}

func TestQueueCommands(t *testing.T) {
	r := mustRouter(t)
	for _, text := range []string{"取消", "取消排队", "不用了", "cancel"} {
		if !r.IsCancel(text) {
			t.Errorf("IsCancel(%q) = false", text)
		}
	}
	for _, text := range []string{"取消关注之后怎么办", "我想取消自动扣费"} {
		if r.IsCancel(text) {
			t.Errorf("IsCancel(%q) = true", text)
		}
	}
	for _, text := range []string{"排队进度", "我排第几位", "还要等多久", "前面还有几个人", "我的工单到哪了",
		"排队怎么样了", "处理到哪一步了", "where is my ticket", "how much longer"} {
		if !r.IsQueueStatus(text) {
			t.Errorf("IsQueueStatus(%q) = false", text)
		}
	}
	for _, text := range []string{"我的工单被驳回了怎么办", "怎么查询工单"} {
		if r.IsQueueStatus(text) {
			t.Errorf("IsQueueStatus(%q) = true", text)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"BadRegexp", "urgent:\n  - name: x\n    lane: emergency\n    patterns: ['(']\n"},
		{"MissingLane", "urgent:\n  - name: x\n    patterns: ['a']\n"},
		{"UnknownKey", "urgentt: []\n"},
		{"Duplicate", "urgent:\n  - {name: x, lane: a, patterns: [a]}\n  - {name: x, lane: b, patterns: [b]}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseRules([]byte(tt.yaml)); err == nil {
				t.Error("ParseRules succeeded, want an error")
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"转　人工", "转人工"},
		{"ＨＥＬＬＯ  World", "hello world"},
		{"号 被盗 了", "号被盗了"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzRoute(f *testing.F) {
	r := mustRouter(f)
	for _, s := range []string{"转人工", "号被盗了在借钱", "", "\x00\xff", "ＡＢＣ　ｄ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := r.Route(s)
		if d.Kind == "" {
			t.Fatalf("Route(%q) has no kind", s)
		}
		if (d.Kind == Answer || d.Kind == Boundary) && d.Article == nil {
			t.Fatalf("Route(%q) = %s without an article", s, d.Kind)
		}
	})
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // nil: no prefilter
	}{
		{"被骗|诈骗", []string{"被骗", "诈骗"}},
		{"(号|账号).{0,8}(被盗|盗了)", []string{"被盗", "盗了"}},
		{".*", nil},
		{"a?b", []string{"b"}},
		{"(scam|fraud)", []string{"scam", "fraud"}},
	}
	for _, tt := range tests {
		got := requiredLiterals(tt.pattern)
		if (got == nil) != (tt.want == nil) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.pattern, got, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !containsAny(w, got) {
				t.Errorf("requiredLiterals(%q) = %q, missing %q", tt.pattern, got, w)
			}
		}
	}
}

// FuzzPrefilterAgrees checks that the prefilter never hides a match: every
// rule gives the same answer with and without it.
func FuzzPrefilterAgrees(f *testing.F) {
	c, err := compile(DefaultRules())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"号被盗了在借钱", "孩子偷偷充值游戏", "转人工", "my account was hacked", "被骗"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = Normalize(s)
		for _, u := range c.urgent {
			plain := u.m.any.MatchString(s) && (u.m.unless == nil || !u.m.unless.MatchString(s))
			if got := u.m.match(s); got != plain {
				t.Fatalf("rule %s on %q: prefiltered %v, plain %v", u.rule.Name, s, got, plain)
			}
		}
	})
}

func FuzzParseRules(f *testing.F) {
	f.Add(string(defaultRules))
	f.Add("urgent:\n  - {name: x, lane: a, patterns: ['(']}\n")
	f.Add("greeting: [1, 2]\n")
	f.Fuzz(func(t *testing.T, data string) {
		r, err := ParseRules([]byte(data))
		if err != nil {
			return
		}
		if _, err := NewRouter(Options{Rules: r}, nil); err != nil {
			t.Fatalf("rules parsed but did not compile: %v", err)
		}
	})
}

func TestRouteThanksOrAck(t *testing.T) {
	r := mustRouter(t)
	for text, want := range map[string]string{
		"谢谢":        RuleThanks,
		"好的谢谢":      RuleThanks,
		"ok thanks": RuleThanks,
		"谢谢你啦":      RuleThanks,
		"嗯嗯":        RuleAck,
		"好的呢":       RuleAck,
		"算了":        RuleAck,
		"ok":        RuleAck,
		"😊":         RuleAck,
		"👍👍":        RuleAck,
		"[强][强]":    RuleAck,
		"/::)":      RuleAck,
		"可以的":       RuleAck,
		"是的":        RuleAck,
		"谢谢你们":      RuleThanks,
		"辛苦了":       RuleThanks,
	} {
		if d := r.Route(text); d.Kind != Thanks || d.Rule != want {
			t.Errorf("Route(%q) = %s rule %q, want thanks rule %q", text, d.Kind, d.Rule, want)
		}
	}
}

func TestRouteNotAck(t *testing.T) {
	r := mustRouter(t)
	for _, text := range []string{"😡", "😭", "[流泪]", "[发怒]", "/:退款怎么办", "好的吗", "行不行", "Howard"} {
		if d := r.Route(text); d.Kind == Thanks {
			t.Errorf("Route(%q) = thanks rule %q, want not an acknowledgement", text, d.Rule)
		}
	}
	if r.IsQuestion("Howard") || !r.IsQuestion("how long does it take") {
		t.Errorf("IsQuestion: English question words must be whole words")
	}
}
