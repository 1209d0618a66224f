package cliotest

import (
	"net/http"
	"net/url"
	"time"
)

type accessToken struct {
	expiresAt time.Time
	refresh   string
	revoked   bool
}

type refreshToken struct {
	revoked bool
}

type authCode struct {
	redirectURI string
	expiresAt   time.Time
}

// Tokens is a token set as /oauth/token returns it.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int
}

// IssueTokens creates a token set directly, for connecting through the API
// without the browser flow.
func (s *Server) IssueTokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()

	refresh := "rt_" + randomHex(16)
	s.refreshTokens[refresh] = &refreshToken{}
	access := s.issueAccess(refresh)
	return Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.lifetimeSeconds()}
}

// ExpireAccessTokens makes every access token expired, so the next API call
// gets 401.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.accessTokens {
		at.expiresAt = time.Now().Add(-time.Second)
	}
}

// RevokeRefreshToken revokes every refresh token, as when a firm removes
// the app in Clio; refreshing then fails with invalid_grant.
func (s *Server) RevokeRefreshToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refreshTokens {
		rt.revoked = true
	}
}

func (s *Server) lifetimeSeconds() int {
	secs := int(s.opts.TokenLifetime / time.Second)
	if secs < 1 {
		secs = 1
	}
	return secs
}

// issueAccess creates an access token tied to a refresh token. The caller holds s.mu.
func (s *Server) issueAccess(refresh string) string {
	access := "at_" + randomHex(16)
	s.accessTokens[access] = &accessToken{expiresAt: time.Now().Add(time.Duration(s.lifetimeSeconds()) * time.Second), refresh: refresh}
	return access
}

// authorize approves every request at once and redirects back with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" {
		http.Error(w, "Invalid Authorization Request: response_type must be code", http.StatusBadRequest)
		return
	}
	if s.opts.ClientID != "" && q.Get("client_id") != s.opts.ClientID {
		http.Error(w, "Invalid Authorization Request: unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		http.Error(w, "Invalid Authorization Request: redirect_uri is missing or not absolute", http.StatusBadRequest)
		return
	}

	code := "code_" + randomHex(12)
	s.mu.Lock()
	s.codes[code] = authCode{redirectURI: q.Get("redirect_uri"), expiresAt: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()

	back := redirect.Query()
	back.Set("code", code)
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// token serves the authorization_code and refresh_token grants. Refresh
// responses carry no new refresh token, because Clio Manage does not rotate them.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form body could not be read")
		return
	}
	f := r.PostForm
	clientID, clientSecret := f.Get("client_id"), f.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		clientID, clientSecret = user, pass
	}
	if s.opts.ClientID != "" && (clientID != s.opts.ClientID || clientSecret != s.opts.ClientSecret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	switch f.Get("grant_type") {
	case "authorization_code":
		code, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		if !ok || time.Now().After(code.expiresAt) || code.redirectURI != f.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
			return
		}
		refresh := "rt_" + randomHex(16)
		s.refreshTokens[refresh] = &refreshToken{}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type":    "bearer",
			"access_token":  s.issueAccess(refresh),
			"expires_in":    s.lifetimeSeconds(),
			"refresh_token": refresh,
		})
	case "refresh_token":
		rt, ok := s.refreshTokens[f.Get("refresh_token")]
		if !ok || rt.revoked {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type":   "bearer",
			"access_token": s.issueAccess(f.Get("refresh_token")),
			"expires_in":   s.lifetimeSeconds(),
		})
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

// deauthorize revokes the access token in the form and its refresh token.
func (s *Server) deauthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the form body could not be read")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.accessTokens[r.PostForm.Get("token")]; ok {
		at.revoked = true
		if rt, ok := s.refreshTokens[at.refresh]; ok {
			rt.revoked = true
		}
	}
	w.WriteHeader(http.StatusOK)
}

// Deauthorized reports whether any token was revoked through /oauth/deauthorize.
func (s *Server) Deauthorized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.accessTokens {
		if at.revoked {
			return true
		}
	}
	return false
}

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	user := map[string]any{
		"id":         int64(344117),
		"etag":       `"` + randomHex(8) + `"`,
		"name":       s.opts.UserName,
		"first_name": s.opts.UserName,
		"last_name":  "",
		"email":      s.opts.UserEmail,
		"enabled":    true,
	}
	s.writeOne(w, r, user)
}
