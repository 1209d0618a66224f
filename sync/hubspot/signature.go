package hubspot

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names HubSpot sets on app webhook deliveries.
const (
	headerSignature        = "X-HubSpot-Signature"
	headerSignatureVersion = "X-HubSpot-Signature-Version"
	headerSignatureV3      = "X-HubSpot-Signature-v3"
	headerTimestamp        = "X-HubSpot-Request-Timestamp"
)

// signatureWindow bounds the age of a v3 timestamp in both directions.
// HubSpot rejects older requests after 5 minutes; the future bound guards
// against a replay signed with a skewed clock.
const signatureWindow = 5 * time.Minute

var (
	errSignatureMissing = errors.New("no X-HubSpot-Signature-v3 or X-HubSpot-Signature header")
	errSignatureInvalid = errors.New("signature does not match the body signed with the client secret")
)

// uriDecoder undoes the percent-escapes that HubSpot decodes before it
// signs the target URL for v3.
var uriDecoder = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
	"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
)

// signV1 returns the v1 signature: hex SHA-256 of secret followed by body.
func signV1(secret string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// signV2 returns the v2 signature: hex SHA-256 of secret, method, URI and body.
func signV2(secret, method, uri string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// signV3 returns the v3 signature: Base64 HMAC-SHA256 keyed with the secret
// over method, decoded URI, body and the timestamp header as received.
func signV3(secret, method, uri string, body []byte, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method))
	mac.Write([]byte(uriDecoder.Replace(uri)))
	mac.Write(body)
	mac.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verifySignature checks a delivery. A v3 header, when present, decides
// alone; without it the v1 or v2 header named by X-HubSpot-Signature-Version
// is checked. It returns the version that passed.
func verifySignature(secret, method, uri string, header http.Header, body []byte, now time.Time) (string, error) {
	if sig := header.Get(headerSignatureV3); sig != "" {
		if err := checkTimestamp(header.Get(headerTimestamp), now); err != nil {
			return "v3", err
		}
		want := signV3(secret, method, uri, body, header.Get(headerTimestamp))
		if !equalConstantTime(want, sig) {
			return "v3", errSignatureInvalid
		}
		return "v3", nil
	}

	sig := header.Get(headerSignature)
	if sig == "" {
		return "", errSignatureMissing
	}
	version := strings.ToLower(header.Get(headerSignatureVersion))
	switch version {
	case "", "v1":
		if !equalConstantTime(signV1(secret, body), strings.ToLower(sig)) {
			return "v1", errSignatureInvalid
		}
		return "v1", nil
	case "v2":
		if !equalConstantTime(signV2(secret, method, uri, body), strings.ToLower(sig)) {
			return "v2", errSignatureInvalid
		}
		return "v2", nil
	}
	return version, fmt.Errorf("unsupported X-HubSpot-Signature-Version %q: expected v1 or v2", version)
}

// checkTimestamp accepts an epoch-millisecond timestamp within
// signatureWindow of now.
func checkTimestamp(raw string, now time.Time) error {
	if raw == "" {
		return fmt.Errorf("missing %s header next to the v3 signature", headerTimestamp)
	}
	ms, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid %s %q: expected epoch milliseconds", headerTimestamp, raw)
	}
	skew := now.Sub(time.UnixMilli(ms))
	if skew > signatureWindow || skew < -signatureWindow {
		return fmt.Errorf("%s %s is %s away from now, outside the %s window: check the server clock", headerTimestamp, raw, skew.Round(time.Second), signatureWindow)
	}
	return nil
}

func equalConstantTime(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
