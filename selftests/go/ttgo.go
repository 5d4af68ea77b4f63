// SPDX-License-Identifier: GPL-2.0
//
// ttgo: a TCP client or server written the way Go services are written,
// for 64-go-client. net.Dialer and net.ListenConfig with their default
// KeepAlive (15 s) set SO_KEEPALIVE 1, TCP_KEEPINTVL 15 and TCP_KEEPIDLE
// 15 on every connection right after connect() or accept() returned:
// after tcptimeo decided the socket. ttgo then reads the options back
// with its own getsockopt() and prints them, reads until the connection
// ends and prints how it ended. One JSON object per line on stdout:
//
//	ttgo dial HOST:PORT [-keepalive D] [-reset D]
//	ttgo serve HOST:PORT
//
//	{"event":"listening","local":"..."}                     (serve)
//	{"event":"connected"|"accepted","local":"...","remote":"...","opts":{...}}
//	{"event":"reset","opts":{...}}    after SetKeepAlivePeriod(-reset)
//	{"event":"ended","err":"...","errno":"ETIMEDOUT","read_s":1.5}
//
// -keepalive is net.Dialer.KeepAlive (0: Go's default, 15 s). -reset
// sets the keepalive period once more after the first report, as a
// connection pool that re-applies its options does. "read_s" is how long
// the final read() blocked.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Not all of them are in Go 1.19's syscall package.
const (
	tcpKeepIdle    = 4
	tcpKeepIntvl   = 5
	tcpKeepCnt     = 6
	tcpSynCnt      = 7
	tcpUserTimeout = 18
)

func emit(v map[string]interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(b, '\n'))
}

func fail(format string, a ...interface{}) {
	emit(map[string]interface{}{"event": "error", "err": fmt.Sprintf(format, a...)})
	os.Exit(1)
}

// opts reads the six options the way the application would.
func opts(c *net.TCPConn) map[string]int {
	names := []struct {
		key        string
		level, opt int
	}{
		{"keepalive", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE},
		{"idle", syscall.IPPROTO_TCP, tcpKeepIdle},
		{"intvl", syscall.IPPROTO_TCP, tcpKeepIntvl},
		{"cnt", syscall.IPPROTO_TCP, tcpKeepCnt},
		{"user_timeout", syscall.IPPROTO_TCP, tcpUserTimeout},
		{"syn_retries", syscall.IPPROTO_TCP, tcpSynCnt},
	}
	got := map[string]int{}
	rc, err := c.SyscallConn()
	if err != nil {
		fail("SyscallConn: %v", err)
	}
	cerr := rc.Control(func(fd uintptr) {
		for _, n := range names {
			v, err := syscall.GetsockoptInt(int(fd), n.level, n.opt)
			if err != nil {
				fail("getsockopt %s: %v", n.key, err)
			}
			got[n.key] = v
		}
	})
	if cerr != nil {
		fail("Control: %v", cerr)
	}
	return got
}

func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.ETIMEDOUT:
			return "ETIMEDOUT"
		case syscall.ECONNRESET:
			return "ECONNRESET"
		case syscall.EHOSTUNREACH:
			return "EHOSTUNREACH"
		}
		return fmt.Sprintf("errno %d", int(en))
	}
	return ""
}

// serveConn reports @c, optionally re-sets its keepalive period, then
// reads until the connection ends.
func serveConn(event string, c *net.TCPConn, reset time.Duration) {
	emit(map[string]interface{}{"event": event, "local": c.LocalAddr().String(),
		"remote": c.RemoteAddr().String(), "opts": opts(c)})
	if reset > 0 {
		if err := c.SetKeepAlivePeriod(reset); err != nil {
			fail("SetKeepAlivePeriod: %v", err)
		}
		emit(map[string]interface{}{"event": "reset", "opts": opts(c)})
	}
	buf := make([]byte, 4096)
	for {
		t0 := time.Now()
		_, err := c.Read(buf)
		if err != nil {
			emit(map[string]interface{}{"event": "ended", "err": err.Error(),
				"errno": errnoName(err), "read_s": time.Since(t0).Seconds()})
			return
		}
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: ttgo dial|serve HOST:PORT [-keepalive D] [-reset D]")
		os.Exit(2)
	}
	mode, addr := os.Args[1], os.Args[2]
	fs := flag.NewFlagSet("ttgo", flag.ExitOnError)
	keepalive := fs.Duration("keepalive", 0, "net.Dialer.KeepAlive (0: Go's default)")
	reset := fs.Duration("reset", 0, "SetKeepAlivePeriod after the first report")
	if err := fs.Parse(os.Args[3:]); err != nil {
		os.Exit(2)
	}
	switch mode {
	case "dial":
		d := net.Dialer{KeepAlive: *keepalive, Timeout: 30 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			fail("dial %s: %v", addr, err)
		}
		serveConn("connected", c.(*net.TCPConn), *reset)
	case "serve":
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			fail("listen %s: %v", addr, err)
		}
		emit(map[string]interface{}{"event": "listening", "local": ln.Addr().String()})
		c, err := ln.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		ln.Close()
		serveConn("accepted", c.(*net.TCPConn), *reset)
	default:
		fmt.Fprintf(os.Stderr, "ttgo: unknown mode %q\n", mode)
		os.Exit(2)
	}
}
