package ui

import (
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/store"
)

var errNoSession = errors.New("not signed in")

// pageUser resolves the browser session cookie, or a bearer token for
// scripted use of page routes such as the OAuth start.
func (s *Server) pageUser(c *fiber.Ctx) (store.User, error) {
	if cookie := c.Cookies(SessionCookie); cookie != "" {
		if _, u, err := s.App.Session(c.UserContext(), cookie); err == nil {
			return u, nil
		}
	}
	if secret, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok {
		if u, err := s.App.UserForToken(c.UserContext(), strings.TrimSpace(secret)); err == nil {
			return u, nil
		}
	}
	return store.User{}, errNoSession
}

// backup streams a consistent copy of the database to the CLI on the same
// machine, authorized by the admin token the server writes into its data
// directory at start.
func (s *Server) backup(c *fiber.Ctx) error {
	secret, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if s.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.AdminToken)) != 1 {
		return apiError(fiber.StatusUnauthorized, "unauthenticated", "backup needs the admin token from the data directory", "")
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="referralpulse.db"`)
	var size int64
	n, err := s.App.Store.Backup(c.Response().BodyWriter())
	if err != nil {
		return err
	}
	size = n
	c.Set("X-Backup-Bytes", strconv.FormatInt(size, 10))
	s.log.Info().Int64("bytes", size).Msg("backup streamed")
	return nil
}
