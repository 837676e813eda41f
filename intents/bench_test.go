package intents

import "testing"

func BenchmarkRoute(b *testing.B) {
	r := mustRouter(b)
	questions := []string{"海外用户怎么联系客服", "今天中午吃什么好", "孩子偷偷充值游戏", "转人工", "老人打什么电话找客服"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Route(questions[i%len(questions)])
	}
}

func BenchmarkCheckUrgent(b *testing.B) {
	r := mustRouter(b)
	b.ReportAllocs()
	for b.Loop() {
		r.CheckUrgent("请问海外用户怎么联系客服，我在国外注册的账号")
	}
}
