// vcsim: govmomi's vCenter simulator, launched for Ferry's tests.
//
// govmomi's own `vcsim` command is not in the module the Go proxy serves here,
// so this launcher drives the same `simulator` package (pinned in go.mod) with
// the flags Ferry's tests need. Flag names follow the stock vcsim command.
//
// It prints the SDK URL (with the login credentials) as the first line of
// stdout and serves until SIGINT/SIGTERM, or until stdin reaches EOF when
// -stdinexit is set (so it dies with the process that started it).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	_ "github.com/vmware/govmomi/vapi/simulator" // vAPI REST: /rest session and tagging
)

func main() {
	model := simulator.VPX()
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host instead of a vCenter")
	flag.IntVar(&model.Datacenter, "dc", model.Datacenter, "datacenters")
	flag.IntVar(&model.Cluster, "cluster", model.Cluster, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", model.ClusterHost, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", model.Host, "standalone hosts per datacenter")
	flag.IntVar(&model.Datastore, "ds", model.Datastore, "local datastores")
	flag.IntVar(&model.Machine, "vm", model.Machine, "virtual machines per resource pool")
	flag.IntVar(&model.Pool, "pool", model.Pool, "child resource pools per cluster")
	flag.IntVar(&model.App, "app", model.App, "virtual apps per cluster")
	flag.IntVar(&model.Pod, "pod", model.Pod, "storage pods per cluster")
	flag.IntVar(&model.Portgroup, "pg", model.Portgroup, "distributed port groups per datacenter")
	flag.IntVar(&model.PortgroupNSX, "pg-nsx", model.PortgroupNSX, "NSX-backed port groups per datacenter")
	flag.IntVar(&model.OpaqueNetwork, "nsx", model.OpaqueNetwork, "opaque (NSX) networks per datacenter")
	flag.IntVar(&model.Folder, "folder", model.Folder, "folders per datacenter")
	flag.BoolVar(&model.Autostart, "autostart", model.Autostart, "power on the generated VMs")
	apiVersion := flag.String("api-version", "", "About.apiVersion to report (default: the simulator's)")
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0 picks a free one)")
	useTLS := flag.Bool("tls", true, "serve https")
	certFile := flag.String("tlscert", "", "PEM certificate to serve (default: a fresh self-signed ECDSA P-256 one)")
	keyFile := flag.String("tlskey", "", "PEM key of -tlscert")
	certOut := flag.String("tls-cert-out", "", "write the served certificate (PEM) to this file")
	username := flag.String("username", "", "the only user name Login accepts (default: any non-empty)")
	password := flag.String("password", "", "the only password Login accepts (default: any non-empty)")
	sessionTimeout := flag.Duration("session-timeout", 0, "idle time after which a session expires (0: never)")
	stdinExit := flag.Bool("stdinexit", false, "exit when stdin reaches end of file")
	load := flag.String("load", "", "directory of a saved inventory to load instead of generating one")
	delayMS := flag.Int("delay", 0, "delay every SOAP call by this many milliseconds")
	delayJitter := flag.Float64("delay-jitter", 0, "jitter of -delay, as a fraction")
	methodDelay := flag.String("method-delay", "", "per-method delays, e.g. RetrievePropertiesEx=200,PowerOffVM_Task=1000 (ms)")
	flag.Parse()

	if *esx {
		model = esxModel(model)
	}
	if *apiVersion != "" {
		model.ServiceContent.About.ApiVersion = *apiVersion
	}
	model.DelayConfig.Delay = *delayMS
	model.DelayConfig.DelayJitter = *delayJitter
	if *methodDelay != "" {
		model.DelayConfig.MethodDelay = map[string]int{}
		for _, kv := range strings.Split(*methodDelay, ",") {
			parts := strings.SplitN(kv, "=", 2)
			ms, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
			if len(parts) != 2 || err != nil {
				fail(2, "bad -method-delay entry: %s", kv)
			}
			model.DelayConfig.MethodDelay[strings.TrimSpace(parts[0])] = ms
		}
	}

	var err error
	if *load != "" {
		err = model.Load(*load)
	} else {
		err = model.Create()
	}
	if err != nil {
		fail(1, "%s", err)
	}
	defer model.Remove()

	if *sessionTimeout > 0 {
		model.Map().OptionManager().UpdateOptions(&types.UpdateOptions{
			ChangedValue: []types.BaseOptionValue{&types.OptionValue{
				Key:   "config.vmacore.soap.sessionTimeout",
				Value: sessionTimeout.String(),
			}},
		})
	}

	model.Service.Listen = &url.URL{Host: *listen}
	if *username != "" || *password != "" {
		// Any pointer other than simulator.DefaultLogin makes Login compare
		// against exactly this pair.
		model.Service.Listen.User = url.UserPassword(*username, *password)
	}
	model.Service.RegisterEndpoints = true
	if *useTLS {
		cert, err := serverCertificate(*certFile, *keyFile)
		if err != nil {
			fail(1, "tls: %s", err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		if *certOut != "" {
			block := &pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}
			if err := os.WriteFile(*certOut, pem.EncodeToMemory(block), 0o644); err != nil {
				fail(1, "tls: %s", err)
			}
		}
	}
	server := model.Service.NewServer()
	defer server.Close()

	fmt.Println(server.URL.String())
	if *useTLS {
		sum := sha1.Sum(server.Certificate().Raw)
		hexes := make([]string, len(sum))
		for i, b := range sum {
			hexes[i] = fmt.Sprintf("%02X", b)
		}
		fmt.Fprintln(os.Stderr, "vcsim: certificate thumbprint", strings.Join(hexes, ":"))
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if *stdinExit {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
}

// esxModel turns the flags given for a vCenter model into a standalone ESXi one
// (which has no datacenters, clusters, pools or port groups of its own).
func esxModel(vpx *simulator.Model) *simulator.Model {
	m := simulator.ESX()
	m.Datastore = vpx.Datastore
	m.Machine = vpx.Machine
	m.Autostart = vpx.Autostart
	return m
}

// serverCertificate loads the given key pair, or makes a self-signed leaf
// certificate (not a CA, as a vCenter's machine certificate) for 127.0.0.1,
// ::1 and localhost.
func serverCertificate(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" || keyFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim", Organization: []string{"Ferry test vCenter"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * 365 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vcsim: "+format+"\n", args...)
	os.Exit(code)
}
