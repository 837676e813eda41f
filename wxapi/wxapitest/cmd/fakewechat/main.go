// Command fakewechat runs the wxapitest fake WeChat API as a process, for
// manual runs and out-of-process tests:
//
//	go run ./wxapi/wxapitest/cmd/fakewechat -addr 127.0.0.1:0
//
// The first line on stdout is the base URL; give it to kefu as
// KEFU_WECHAT_API_BASE. GET /_sent lists the customer-service messages
// received (see package wxapitest for the other control endpoints). It
// stops on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	appID := flag.String("appid", wxapitest.AppID, "appid the token endpoints accept")
	secret := flag.String("secret", wxapitest.AppSecret, "secret the token endpoints accept")
	flag.Parse()

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakewechat:", err)
		os.Exit(1)
	}
	s := wxapitest.NewServerListener(l)
	s.SetCredentials(*appID, *secret)
	fmt.Println(s.URL())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	s.Close()
}
