package queue

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// testPKI writes a CA, a server certificate for nats.test and a client
// certificate into dir, returning their file names.
type testPKI struct{ ca, srvCert, srvKey, cliCert, cliKey string }

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "EC PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "adgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, dns []string, usage x509.ExtKeyUsage, k *ecdsa.PrivateKey) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	srvKey, cliKey := key(), key()
	return testPKI{
		ca:      write("ca.pem", "CERTIFICATE", caDER),
		srvCert: write("server.pem", "CERTIFICATE", leaf(2, "nats.test", []string{"nats.test"}, x509.ExtKeyUsageServerAuth, srvKey)),
		srvKey:  writeKey("server-key.pem", srvKey),
		cliCert: write("client.pem", "CERTIFICATE", leaf(3, "adgate", nil, x509.ExtKeyUsageClientAuth, cliKey)),
		cliKey:  writeKey("client-key.pem", cliKey),
	}
}

// The queue connects over TLS with a private CA, a client certificate the
// server verifies, and a server name that differs from the URL's host;
// without the client certificate the server refuses it.
func TestExternalTLS(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.srvCert, KeyFile: pki.srvKey, CaFile: pki.ca, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	defer ns.Shutdown()
	url := strings.Replace(ns.ClientURL(), "nats://", "tls://", 1)

	for _, tc := range []struct {
		name string
		tls  TLS
		ok   bool
	}{
		{"ca, client certificate, server name", TLS{CAFile: pki.ca, CertFile: pki.cliCert, KeyFile: pki.cliKey, ServerName: "nats.test"}, true},
		{"no client certificate", TLS{CAFile: pki.ca, ServerName: "nats.test"}, false},
		{"wrong server name", TLS{CAFile: pki.ca, CertFile: pki.cliCert, KeyFile: pki.cliKey, ServerName: "other.test"}, false},
		{"certificate without key", TLS{CAFile: pki.ca, CertFile: pki.cliCert, ServerName: "nats.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("")
			cfg.URL, cfg.TLS = url, tc.tls
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			q, err := Open(ctx, cfg, testLogger(t))
			if tc.ok {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer q.Close()
				if err := q.Probe(ctx); err != nil {
					t.Fatalf("write over TLS: %v", err)
				}
				return
			}
			if err == nil {
				_ = q.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}
