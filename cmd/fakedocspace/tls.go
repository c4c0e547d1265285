package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// fakeCA is a certificate authority made at start that issues each
// loopback address its own server certificate, as each real portal has
// one of its own, and counts the TLS connections the portals get.
type fakeCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	leafKey crypto.Signer // one key for all the portals' certificates: made once, it costs the start nothing

	mu    sync.Mutex
	leafs map[string]*tls.Certificate // by loopback address

	full, resumed, h2 atomic.Int64
}

// newFakeCA makes a CA and the portals' key of keyType: "ecdsa" (P-256,
// what Let's Encrypt issues by default since certbot 2.0) or "rsa" (2048
// bits).
func newFakeCA(keyType string) (*fakeCA, error) {
	newKey := func() (crypto.Signer, error) {
		if keyType == "rsa" {
			return rsa.GenerateKey(rand.Reader, 2048)
		}
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	leafKey, err := newKey()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fakedocspace CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(0, 0, 7),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &fakeCA{cert: cert, key: key, leafKey: leafKey, leafs: map[string]*tls.Certificate{}}, nil
}

// writeCert writes the CA's certificate, for the exporter's
// --docspace.tls.ca-file.
func (ca *fakeCA) writeCert(path string) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644)
}

// config is the portals' TLS configuration: TLS 1.2 and 1.3 with HTTP/2
// and HTTP/1.1 offered (http.Server adds them), as nginx serves DocSpace.
func (ca *fakeCA) config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: ca.certificate,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.DidResume {
				ca.resumed.Add(1)
			} else {
				ca.full.Add(1)
			}
			if cs.NegotiatedProtocol == "h2" {
				ca.h2.Add(1)
			}
			return nil
		},
	}
}

// certificate returns the certificate of the address the client called,
// issued on first use.
func (ca *fakeCA) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	ip := net.IPv4(127, 0, 0, 1)
	if a, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
		ip = a.IP
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leafs[ip.String()]; c != nil {
		return c, nil
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(ca.leafs) + 2)),
		Subject:      pkix.Name{CommonName: ip.String()},
		IPAddresses:  []net.IP{ip},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(0, 0, 7),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, ca.leafKey.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: ca.leafKey}
	ca.leafs[ip.String()] = c
	return c, nil
}

// writeCounts answers GET /-/tls: the TLS connections of all the portals
// since the start, full handshakes and resumed ones, and how many
// negotiated HTTP/2.
func (ca *fakeCA) writeCounts(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, ca.counts())
}

func (ca *fakeCA) counts() string {
	full, resumed := ca.full.Load(), ca.resumed.Load()
	return fmt.Sprintf("connections %d\nfull_handshakes %d\nresumed_handshakes %d\nhttp2_connections %d\n", full+resumed, full, resumed, ca.h2.Load())
}
