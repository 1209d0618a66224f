package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// csrfField is the hidden form field that carries the CSRF token.
const csrfField = "_csrf"

// preSessionCookie carries a random token for the forms shown before a
// session exists (setup, sign-in, invitation). The form must echo it back,
// which a cross-site page cannot do because it cannot read the cookie.
const preSessionCookie = "rp_csrf"

// sameToken compares two tokens in constant time; an empty token never matches.
func sameToken(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// submittedToken reads the token from the htmx header or the form field.
func submittedToken(c *fiber.Ctx) string {
	if h := c.Get(CSRFHeader); h != "" {
		return h
	}
	return c.FormValue(csrfField)
}

// crossOrigin reports whether the browser says the request comes from
// another site. Browsers send Origin on every POST and Sec-Fetch-Site on
// every request; a request without either (curl, old clients) still has to
// pass the token check.
func crossOrigin(c *fiber.Ctx) bool {
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return true
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil {
		return true
	}
	return !strings.EqualFold(u.Host, string(c.Request().Host()))
}

// preSessionToken returns the pre-session CSRF token, setting the cookie
// when the browser has none yet.
func (p *pages) preSessionToken(c *fiber.Ctx) string {
	if tok := c.Cookies(preSessionCookie); len(tok) >= 32 {
		return tok
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("read random bytes for a CSRF token: " + err.Error())
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{
		Name: preSessionCookie, Value: tok, Path: "/",
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: p.secureCookies(),
	})
	return tok
}

// checkPreSessionCSRF rejects a sign-in, setup or invitation POST whose
// token does not match the cookie.
func (p *pages) checkPreSessionCSRF(c *fiber.Ctx) error {
	if crossOrigin(c) || !sameToken(submittedToken(c), c.Cookies(preSessionCookie)) {
		return errCSRF
	}
	return nil
}

// errCSRF is the 403 a state-changing page request gets without a valid token.
var errCSRF = apiError(fiber.StatusForbidden, "csrf_failed", "This form has expired or did not come from this site. Go back, reload the page and try again.", "")
