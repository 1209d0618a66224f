package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/store"
)

// SessionCookie is the browser session cookie's name.
const SessionCookie = "rp_session"

// CSRFHeader carries the session's CSRF token on state-changing API calls
// made by the browser.
const CSRFHeader = "X-CSRF-Token"

// authenticate accepts a bearer API token or a session cookie. A cookie
// session must send its CSRF token on every request that changes state.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			return apiError(fiber.StatusUnauthorized, "unauthenticated", "Authorization header must be \"Bearer <token>\"; create a token with `referralpulse token create --email you@example.com`", "")
		}
		u, err := s.App.UserForToken(c.UserContext(), strings.TrimSpace(secret))
		if err != nil {
			return apiError(fiber.StatusUnauthorized, "unauthenticated", "API token is not valid; it may have been revoked", "")
		}
		c.Locals("user", u)
		return c.Next()
	}

	if cookie := c.Cookies(SessionCookie); cookie != "" {
		sess, u, err := s.App.Session(c.UserContext(), cookie)
		if err == nil {
			if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && c.Get(CSRFHeader) != sess.CSRF {
				return apiError(fiber.StatusForbidden, "csrf_failed", "missing or wrong CSRF token; reload the page and try again", "")
			}
			c.Locals("user", u)
			c.Locals("session", sess)
			return c.Next()
		}
	}
	return apiError(fiber.StatusUnauthorized, "unauthenticated", "sign in, or send Authorization: Bearer <token>", "")
}

func currentUser(c *fiber.Ctx) store.User {
	u, _ := c.Locals("user").(store.User)
	return u
}
