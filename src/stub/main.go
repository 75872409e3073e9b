// The standalone layers' extensions/lambda-trace-proxy, run by Lambda at the
// start of Init. Lambda starts the function's runtime only once every extension
// has registered, and Node's own start (~20 ms) plus our listen and register
// came before ours (test/e2e/measure-cold-start.sh: register 31-35 ms after
// Init start). This program registers ~2 ms after Init start instead:
//
//  1. binds and listens on 127.0.0.1:<listener port>, so that a runtime that
//     starts in a few ms connects into the backlog instead of being refused;
//  2. registers with the Extensions API as the Node part would (same request);
//  3. execs the Node part (lambda-trace-proxy/launcher.sh, beside the bundles),
//     handing over the listening socket (an inherited fd) and Lambda's answer
//     in layer-internal variables (src/settings/launcher-handover.ts), which
//     Node removes from its environment at once.
//
// While the register request is in flight it also resolves sandbox.localdomain
// and binds the Telemetry API listener's sockets there, which it hands over
// too: Node's own lookup cost it 3-7 ms of CPU before its first /event/next
// (Node 22 compiles its IPv6 address pattern the first time dns.lookup runs).
//
// Whatever it is not sure of (arguments, settings the Node part would refuse or
// read differently, a port it cannot bind) makes it exec the Node part with
// nothing handed over: Node then listens, registers and reports problems as it
// always has. A register whose answer was lost is handed over as such, so that
// Node's repeat tells whether Lambda had taken it (src/main.ts registerRetrying).
//
// Go's standard library only, static (CGO_ENABLED=0): it runs on Amazon Linux 2
// and 2023 alike, and starts in about a millisecond.
package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Mirrors of src/settings/core-config.ts: the same defaults, the same patterns.
const (
	defaultListenerPort  = 9009
	managedInstancesType = "lambda-managed-instances"
	// Node's default backlog (net.Server.listen), which it keeps when it adopts the socket.
	listenBacklog = 511
	// Lambda's answer is four short strings; a variable holds up to 128 KiB.
	maxBodyBytes = 64 << 10
	// The variables of the hand-over: src/settings/launcher-handover.ts reads them.
	handoverPrefix = "_LRAP_"
	// Where Lambda delivers Telemetry API batches (src/telemetry/telemetry-api.ts SANDBOX_HOST).
	sandboxHost = "sandbox.localdomain"
	// How long after the lookup of sandbox.localdomain started exec may wait for
	// its answer (it overlaps the register round trip). Lambda has the name in
	// the environment's hosts file, read in well under a millisecond; an answer
	// that takes longer comes from a DNS server, and Node asks again itself,
	// within its own budget, while it loads, rather than start later.
	sandboxLookupBudget = 20 * time.Millisecond
)

var hostPortPattern = regexp.MustCompile(`^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$`)
var portPattern = regexp.MustCompile(`^\d{1,5}$`)

func main() {
	self := os.Args[0]
	if !strings.Contains(self, "/") {
		// Started through PATH: where the layer is comes from the executable itself.
		if exe, err := os.Executable(); err == nil {
			self = exe
		}
	}
	// Lambda requires the file name as Lambda-Extension-Name (launcher.sh does the same).
	name := filepath.Base(self)
	// As launcher.sh finds the bundles: the kernel resolves "..", not a lexical clean.
	launcher := filepath.Dir(self) + "/../lambda-trace-proxy/launcher.sh"
	env := withoutHandover(os.Environ())
	if len(os.Args) == 1 {
		env = append(env, prepare(name)...)
	}
	args := append([]string{launcher, name}, os.Args[1:]...)
	err := syscall.Exec(launcher, args, env)
	// Only a broken layer gets here. Lambda reports the exit (Extension.Crash); this line is in the logs.
	os.Stderr.WriteString(`{"level":"error","msg":"cannot start ` + launcher + `: ` + err.Error() + `","code":"LRAP_NODE_MISSING","ext":"` + name + `"}` + "\n")
	os.Exit(1)
}

// withoutHandover drops hand-over variables inherited from the environment:
// only this program's are to reach Node.
func withoutHandover(env []string) []string {
	kept := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, handoverPrefix) {
			kept = append(kept, kv)
		}
	}
	return kept
}

// prepare listens and registers, and gives the hand-over variables (none when
// it did neither).
func prepare(name string) []string {
	port, api, events, ok := settings()
	if !ok {
		return nil
	}
	sandbox := lookUpSandbox()
	fd, _, ok := listen(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
	if !ok {
		return nil
	}
	handed := append([]string{handoverPrefix + "LISTEN_FD=" + strconv.Itoa(fd)}, register(api, name, events)...)
	return append(handed, telemetryListeners(sandbox())...)
}

// settings reads what the Node part reads before it registers
// (src/settings/core-config.ts), and is not ok where Node would refuse a value
// or might read it otherwise (Node trims more kinds of space than ASCII's).
func settings() (port int, api string, events string, ok bool) {
	text := func(name string) string { return strings.Trim(os.Getenv(name), " \t\n\r\v\f") }
	port = defaultListenerPort
	if p := text("LRAP_LISTENER_PORT"); p != "" {
		if !portPattern.MatchString(p) {
			return 0, "", "", false
		}
		port, _ = strconv.Atoi(p)
		if port < 1 || port > 65535 {
			return 0, "", "", false
		}
	}
	api = text("AWS_LAMBDA_RUNTIME_API")
	apiHost, apiPort, valid := hostPort(api)
	if !valid {
		return 0, "", "", false
	}
	upHost, upPort := apiHost, apiPort
	if endpoint := text("LRAP_RUNTIME_API_ENDPOINT"); endpoint != "" {
		if upHost, upPort, valid = hostPort(endpoint); !valid {
			return 0, "", "", false
		}
	}
	if upPort == port && (upHost == "localhost" || upHost == "::1" || strings.HasPrefix(upHost, "127.")) {
		return 0, "", "", false // Node reports the loop it would make.
	}
	events = `{"events":["INVOKE","SHUTDOWN"]}`
	// Managed Instances refuse an INVOKE registration.
	switch initType := text("AWS_LAMBDA_INITIALIZATION_TYPE"); {
	case initType == managedInstancesType:
		events = `{"events":["SHUTDOWN"]}`
	case strings.Contains(initType, managedInstancesType):
		return 0, "", "", false
	}
	return port, api, events, true
}

func hostPort(text string) (host string, port int, ok bool) {
	m := hostPortPattern.FindStringSubmatch(text)
	if m == nil {
		return "", 0, false
	}
	port, _ = strconv.Atoi(m[2])
	return strings.TrimSuffix(strings.TrimPrefix(m[1], "["), "]"), port, port >= 1 && port <= 65535
}

// listen opens a listening socket as Node would (SO_REUSEADDR), on the port
// given (0: one the kernel picks), without close-on-exec: Node inherits it.
// It gives the port listened on.
func listen(addr netip.Addr, port int) (fd int, listening int, ok bool) {
	var sockaddr syscall.Sockaddr
	family := syscall.AF_INET
	if addr.Is4() {
		sockaddr = &syscall.SockaddrInet4{Port: port, Addr: addr.As4()}
	} else {
		sockaddr, family = &syscall.SockaddrInet6{Port: port, Addr: addr.As16()}, syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, 0, false
	}
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) != nil ||
		syscall.Bind(fd, sockaddr) != nil ||
		syscall.Listen(fd, listenBacklog) != nil {
		// Node binds again and reports why it cannot (LRAP_LISTEN_FAILED, LRAP_TELEMETRY_LISTEN_PARTIAL).
		syscall.Close(fd)
		return 0, 0, false
	}
	if bound, err := syscall.Getsockname(fd); err == nil {
		switch bound := bound.(type) {
		case *syscall.SockaddrInet4:
			return fd, bound.Port, true
		case *syscall.SockaddrInet6:
			return fd, bound.Port, true
		}
	}
	syscall.Close(fd)
	return 0, 0, false
}

// sandboxAnswer is what came of resolving sandbox.localdomain: its addresses,
// or that it does not resolve (none, and sure).
type sandboxAnswer struct {
	addrs []netip.Addr
	sure  bool
}

// lookUpSandbox starts resolving sandbox.localdomain with Go's own resolver
// (no cgo: it reads nsswitch.conf, the hosts file and resolv.conf itself, as
// glibc does), and gives its answer if it comes within sandboxLookupBudget
// (else an unsure one).
func lookUpSandbox() func() sandboxAnswer {
	answer := make(chan sandboxAnswer, 1)
	budget := time.NewTimer(sandboxLookupBudget)
	go func() {
		addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", sandboxHost)
		var dnsErr *net.DNSError
		if err != nil {
			// Only "no such host" is sure: a resolver that failed otherwise may not fail Node's getaddrinfo.
			answer <- sandboxAnswer{sure: errors.As(err, &dnsErr) && dnsErr.IsNotFound}
			return
		}
		unique := make([]netip.Addr, 0, len(addrs))
		for _, addr := range addrs {
			addr = addr.Unmap()
			if addr.Zone() != "" {
				// A link-local address needs its interface's index, which Node finds from the name itself.
				answer <- sandboxAnswer{}
				return
			}
			if !slices.Contains(unique, addr) {
				unique = append(unique, addr)
			}
		}
		answer <- sandboxAnswer{addrs: unique, sure: len(unique) > 0}
	}()
	return func() sandboxAnswer {
		// An answer already there wins over a budget also spent (select picks at random among ready cases).
		select {
		case found := <-answer:
			return found
		default:
		}
		select {
		case found := <-answer:
			return found
		case <-budget.C:
			return sandboxAnswer{}
		}
	}
}

// telemetryListeners binds the Telemetry API listener's sockets where the Node
// part would (src/telemetry/telemetry-api.ts): on every address
// sandbox.localdomain resolves to, all on the port the kernel picks for the
// first, or on 127.0.0.1 where the name does not resolve; and hands them over.
// Nothing when the answer is late or unsure, or a socket cannot be bound: the
// Node part then resolves, listens and reports as it does without the launcher.
func telemetryListeners(answer sandboxAnswer) []string {
	if !answer.sure {
		return nil
	}
	kind, addrs := "resolved:", answer.addrs
	if len(addrs) == 0 {
		kind, addrs = "loopback:", []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	fds := make([]int, 0, len(addrs))
	port := 0
	for _, addr := range addrs {
		fd, listening, ok := listen(addr, port)
		if !ok {
			for _, bound := range fds {
				syscall.Close(bound)
			}
			return nil
		}
		fds, port = append(fds, fd), listening
	}
	list := make([]string, len(fds))
	for i, fd := range fds {
		list[i] = strconv.Itoa(fd)
	}
	return []string{handoverPrefix + "TELEMETRY_FDS=" + kind + strings.Join(list, ",")}
}

// register sends src/lifecycle/extensions-api.ts's register request and hands
// over what came of it: Lambda's answer (whatever its status), or that the
// connection broke after the request may have left, or nothing when it could
// not connect (Node registers then).
func register(api, name, events string) []string {
	conn, err := net.Dial("tcp", api)
	if err != nil {
		return nil
	}
	defer conn.Close()
	broken := func(err error) []string { return []string{handoverPrefix + "REGISTER_BROKEN=" + err.Error()} }
	request := "POST /2020-01-01/extension/register HTTP/1.1\r\n" +
		"Host: " + api + "\r\n" +
		"Lambda-Extension-Name: " + name + "\r\n" +
		"Lambda-Extension-Accept-Feature: accountId\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(events)) + "\r\n" +
		"Connection: close\r\n\r\n" + events
	if _, err := io.WriteString(conn, request); err != nil {
		return broken(err)
	}
	reader := bufio.NewReader(conn)
	res, err := http.ReadResponse(reader, nil)
	// Interim answers (100 Continue) come before the real one, as Node's client skips them.
	for err == nil && res.StatusCode >= 100 && res.StatusCode < 200 {
		res, err = http.ReadResponse(reader, nil)
	}
	if err != nil {
		return broken(err)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBodyBytes+1))
	if err != nil {
		return broken(err)
	}
	handed := []string{
		handoverPrefix + "REGISTER_STATUS=" + strconv.Itoa(res.StatusCode),
		handoverPrefix + "REGISTER_ID=" + res.Header.Get("Lambda-Extension-Identifier"),
	}
	// A variable cannot hold a NUL; Node reads a body it cannot parse as no fields at all.
	if len(body) <= maxBodyBytes && !strings.ContainsRune(string(body), 0) {
		handed = append(handed, handoverPrefix+"REGISTER_BODY="+string(body))
	}
	return handed
}
