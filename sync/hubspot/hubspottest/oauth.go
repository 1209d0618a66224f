package hubspottest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// handleAuthorize approves at once and redirects to redirect_uri with a
// one-time code and the caller's state.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	target, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || target.Scheme == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}

	code := randomHex(16)
	s.mu.Lock()
	s.codes[code] = true
	s.mu.Unlock()

	back := target.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// handleToken serves the authorization_code and refresh_token grants of
// /oauth/v3/token. Credentials must be in the form body.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", "send the parameters as an application/x-www-form-urlencoded body", "VALIDATION_ERROR")
		return
	}
	if r.PostForm.Get("client_id") != s.opts.ClientID || r.PostForm.Get("client_secret") != s.opts.ClientSecret {
		writeError(w, http.StatusBadRequest, "BAD_CLIENT_ID", "missing or unknown client id", "VALIDATION_ERROR")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		if !s.codes[code] {
			writeError(w, http.StatusBadRequest, "BAD_AUTH_CODE", "missing or unknown auth code", "VALIDATION_ERROR")
			return
		}
		delete(s.codes, code)
		refresh := randomHex(18)
		s.refreshTokens[refresh] = true
		writeJSON(w, http.StatusOK, s.issueLocked(refresh))
	case "refresh_token":
		refresh := r.PostForm.Get("refresh_token")
		if !s.refreshTokens[refresh] {
			writeJSON(w, http.StatusBadRequest, map[string]string{
				"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token", "correlationId": newCorrelationID(),
			})
			return
		}
		writeJSON(w, http.StatusOK, s.issueLocked(refresh))
	default:
		writeError(w, http.StatusBadRequest, "BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token", "VALIDATION_ERROR")
	}
}

func (s *Server) issueLocked(refresh string) map[string]any {
	access := "fake-access-" + randomHex(24)
	s.accessTokens[access] = s.opts.Now().Add(s.opts.TokenLifetime)
	return map[string]any{
		"token_type":    "bearer",
		"access_token":  access,
		"refresh_token": refresh,
		"expires_in":    int(s.opts.TokenLifetime / time.Second),
	}
}

// handleIntrospect returns the portal of an access token.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid form body", "VALIDATION_ERROR")
		return
	}
	s.mu.Lock()
	expiry, ok := s.accessTokens[r.PostForm.Get("token")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "error", "token not found", "OBJECT_NOT_FOUND")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"active":     s.opts.Now().Before(expiry),
		"hub_id":     s.opts.PortalID,
		"hub_domain": s.opts.HubDomain,
		"app_id":     s.opts.AppID,
		"scopes":     []string{"oauth", "crm.objects.deals.read", "crm.objects.contacts.read", "crm.objects.companies.read"},
		"token_type": "access",
	})
}

// AddStaticToken accepts token as a non-expiring app token, like a
// private or project app's access token.
func (s *Server) AddStaticToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staticTokens[token] = true
}

// IssueTokens returns a fresh OAuth access and refresh token pair without
// the browser flow, with the lifetime in seconds.
func (s *Server) IssueTokens() (access, refresh string, expiresIn int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refresh = randomHex(18)
	s.refreshTokens[refresh] = true
	tok := s.issueLocked(refresh)
	return tok["access_token"].(string), refresh, tok["expires_in"].(int)
}

// ExpireAccessTokens makes every OAuth access token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for tok := range s.accessTokens {
		s.accessTokens[tok] = past
	}
}

// RevokeRefreshTokens invalidates every refresh token, as an uninstall
// does, so the next refresh gets BAD_REFRESH_TOKEN.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshTokens = map[string]bool{}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("hubspottest: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

func newCorrelationID() string {
	b := randomHex(16)
	return b[0:8] + "-" + b[8:12] + "-4" + b[13:16] + "-8" + b[17:20] + "-" + b[20:32]
}
