package hubspot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

type signatureVectors struct {
	Secret       string `json:"secret"`
	Method       string `json:"method"`
	URI          string `json:"uri"`
	Body         string `json:"body"`
	Timestamp    string `json:"timestamp"`
	V1           string `json:"v1"`
	V2           string `json:"v2"`
	V3           string `json:"v3"`
	V1DocExample struct {
		Body string `json:"body"`
		V1   string `json:"v1"`
	} `json:"v1_doc_example"`
}

func loadVectors(t *testing.T) signatureVectors {
	t.Helper()
	var v signatureVectors
	if err := json.Unmarshal(readCase(t, "hubspot-signatures.json"), &v); err != nil {
		t.Fatalf("decode signature vectors: %v", err)
	}
	return v
}

func TestSignatureVectors(t *testing.T) {
	v := loadVectors(t)
	body := []byte(v.Body)

	cases := []struct {
		name, got, want string
	}{
		{"v1", signV1(v.Secret, body), v.V1},
		{"v1 doc example", signV1(v.Secret, []byte(v.V1DocExample.Body)), v.V1DocExample.V1},
		{"v2 post", signV2(v.Secret, v.Method, v.URI, body), v.V2},
		{"v2 get empty body", signV2(v.Secret, "GET", v.URI, nil), "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"},
		{"v3", signV3(v.Secret, v.Method, v.URI, body, v.Timestamp), v.V3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("signature = %s, want %s", tc.got, tc.want)
			}
		})
	}
}

func TestVerifySignatureHeaders(t *testing.T) {
	v := loadVectors(t)
	body := []byte(v.Body)
	signedAt := time.UnixMilli(15000000)

	cases := []struct {
		name    string
		header  http.Header
		now     time.Time
		version string
		ok      bool
	}{
		{"v3 valid", hdr(headerSignatureV3, v.V3, headerTimestamp, v.Timestamp), signedAt, "v3", true},
		{"v3 four minutes old", hdr(headerSignatureV3, v.V3, headerTimestamp, v.Timestamp), signedAt.Add(4 * time.Minute), "v3", true},
		{"v3 six minutes old", hdr(headerSignatureV3, v.V3, headerTimestamp, v.Timestamp), signedAt.Add(6 * time.Minute), "v3", false},
		{"v3 six minutes ahead", hdr(headerSignatureV3, v.V3, headerTimestamp, v.Timestamp), signedAt.Add(-6 * time.Minute), "v3", false},
		{"v3 missing timestamp", hdr(headerSignatureV3, v.V3), signedAt, "v3", false},
		{"v3 wrong signature beats valid v1", hdr(headerSignatureV3, v.V3[1:]+"A", headerTimestamp, v.Timestamp, headerSignature, v.V1), signedAt, "v3", false},
		{"v1 only", hdr(headerSignature, v.V1, headerSignatureVersion, "v1"), signedAt, "v1", true},
		{"v1 without version header", hdr(headerSignature, v.V1), signedAt, "v1", true},
		{"v1 wrong", hdr(headerSignature, v.V2, headerSignatureVersion, "v1"), signedAt, "v1", false},
		{"v2", hdr(headerSignature, v.V2, headerSignatureVersion, "v2"), signedAt, "v2", true},
		{"no signature", http.Header{}, signedAt, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			version, err := verifySignature(v.Secret, v.Method, v.URI, tc.header, body, tc.now)
			if (err == nil) != tc.ok {
				t.Errorf("verify error = %v, want ok %v", err, tc.ok)
			}
			if version != tc.version {
				t.Errorf("version = %q, want %q", version, tc.version)
			}
		})
	}
}

func TestVerifyDecodesEscapedURI(t *testing.T) {
	body := []byte(`[]`)
	ts := "1790042530877"
	signed := signV3("secret", "POST", "https://hooks.example.net/webhooks/hubspot?tag=a:b", body, ts)
	header := hdr(headerSignatureV3, signed, headerTimestamp, ts)

	_, err := verifySignature("secret", "POST", "https://hooks.example.net/webhooks/hubspot?tag=a%3Ab", header, body, time.UnixMilli(1790042530877))
	if err != nil {
		t.Fatalf("escaped URI rejected: %v", err)
	}
}

// TestWebhookSignatureOverHTTP posts real deliveries to HandleWebhook and
// checks that every rejection answers 401 and stores nothing.
func TestWebhookSignatureOverHTTP(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	body := readCase(t, "dealstage-change.json")
	now := time.Now()
	url := h.c.WebhookURL()
	secret := h.fake.ClientSecret()

	headersAt := func(at time.Time) http.Header {
		hdr := http.Header{}
		for k, v := range hubspottest.SignatureHeaders(secret, "POST", url, body, strconv.FormatInt(at.UnixMilli(), 10)) {
			hdr.Set(k, v)
		}
		return hdr
	}

	cases := []struct {
		name   string
		header http.Header
		body   []byte
		status int
	}{
		{"v3 six minutes old", headersAt(now.Add(-6 * time.Minute)), body, http.StatusUnauthorized},
		{"v3 six minutes ahead", headersAt(now.Add(6 * time.Minute)), body, http.StatusUnauthorized},
		{"tampered body", headersAt(now), append([]byte(" "), body...), http.StatusUnauthorized},
		{"wrong secret", func() http.Header {
			hdr := http.Header{}
			for k, v := range hubspottest.SignatureHeaders("other-secret", "POST", url, body, strconv.FormatInt(now.UnixMilli(), 10)) {
				hdr.Set(k, v)
			}
			return hdr
		}(), body, http.StatusUnauthorized},
		{"unsigned", http.Header{}, body, http.StatusUnauthorized},
		{"v1 fallback", hdr(headerSignature, signV1(secret, body), headerSignatureVersion, "v1"), body, http.StatusOK},
		{"v3 four minutes old", headersAt(now.Add(-4 * time.Minute)), body, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(pending(t, h.st))
			resp := h.c.HandleWebhook(context.Background(), crm.WebhookRequest{Method: "POST", URL: url, Header: tc.header, Body: tc.body})
			if resp.Status != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", resp.Status, tc.status, resp.Body)
			}
			if tc.status == http.StatusUnauthorized {
				if !resp.Rejected {
					t.Error("401 response not marked Rejected")
				}
				if after := len(pending(t, h.st)); after != before {
					t.Errorf("rejected delivery stored %d items", after-before)
				}
			}
		})
	}
}

func TestNewRequiresStore(t *testing.T) {
	if _, err := New(Config{Logger: zerolog.New(io.Discard)}); err == nil {
		t.Fatal("New without a store returned no error")
	}
}

// hdr builds a canonical header from name, value pairs, as net/http does.
func hdr(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}
