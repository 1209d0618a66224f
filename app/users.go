package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/referralpulse/referralpulse/store"
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// tokenPrefix marks API tokens so leaked ones are easy to recognise.
const tokenPrefix = "rp_"

// CreateUser adds a user. An empty password creates an account that can use
// API tokens but not sign in to the browser UI. Partners of other users with
// the same email become registered and their referrals get counterpart copies.
func (a *App) CreateUser(ctx context.Context, email, name, password string) (store.User, error) {
	email, err := CheckEmail("email", email, true)
	if err != nil {
		return store.User{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return store.User{}, invalid("name", "is required")
	}
	u := store.User{Email: email, Name: name}
	if password != "" {
		if len(password) < MinPasswordLen {
			return u, invalid("password", "is %d characters long; use at least %d", len(password), MinPasswordLen)
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return u, invalid("password", "cannot be hashed: %v", err)
		}
		u.PasswordHash = string(hash)
	}

	var fx effects
	err = a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		if err := tx.PutUser(&u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a user with email %s already exists: %w", email, store.ErrConflict)
			}
			return err
		}
		return a.tieRegisteredPartner(tx, u, &fx)
	})
	if err != nil {
		return u, err
	}
	a.flush(&fx)
	a.Log.Info().Str("user_id", u.ID).Msg("user created")
	return u, nil
}

// tieRegisteredPartner marks every partner record with the new user's
// email as registered and creates the counterpart copies of their referrals.
func (a *App) tieRegisteredPartner(tx *store.Tx, u store.User, fx *effects) error {
	partners, err := tx.PartnersWithEmail(u.Email)
	if err != nil {
		return err
	}
	for _, p := range partners {
		if p.UserID == u.ID {
			continue
		}
		p.State = store.PartnerRegistered
		p.PartnerUserID = u.ID
		p.InviteToken = ""
		if err := tx.PutPartner(&p); err != nil {
			return err
		}
		n := store.Notification{
			UserID: p.UserID, At: a.now(), Kind: "partner_registered",
			Title: fmt.Sprintf("%s joined ReferralPulse", displayPartner(p)),
			Body:  "Referrals you exchange with them now appear in both accounts, and synced status changes reach them.",
		}
		if err := tx.AddNotification(&n); err != nil {
			return err
		}
		fx.notify(n)
		referrals, err := tx.PartnerReferrals(p.ID)
		if err != nil {
			return err
		}
		for _, r := range referrals {
			if r.CounterpartID != "" {
				continue
			}
			if err := a.createCounterpart(tx, &r, p, fx); err != nil {
				return err
			}
		}
	}
	return nil
}

// RegisterWithInvite creates the account of an invited partner; the invite
// token must be live.
func (a *App) RegisterWithInvite(ctx context.Context, inviteToken, name, password string) (store.User, error) {
	var p store.Partner
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		p, err = tx.PartnerByInviteToken(inviteToken)
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("invitation link is not valid any more; ask for a new one: %w", err)
	}
	if password == "" {
		return store.User{}, invalid("password", "is required")
	}
	return a.CreateUser(ctx, p.Email, name, password)
}

// Authenticate checks an email and password.
func (a *App) Authenticate(ctx context.Context, email, password string) (store.User, error) {
	var u store.User
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByEmail(email)
		return err
	})
	if err != nil || u.PasswordHash == "" {
		// Spend the same time as a real check so timing does not reveal accounts.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOa6zz3jbDp0yjn1p1R6bKnyS8W/L8H5K"), []byte(password))
		return store.User{}, errors.New("wrong email or password")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return store.User{}, errors.New("wrong email or password")
	}
	return u, nil
}

// CreateToken issues an API token for the user and returns the secret,
// which is shown once and stored only as a hash.
func (a *App) CreateToken(ctx context.Context, userID, name string) (string, store.Token, error) {
	secret := tokenPrefix + randomToken(32)
	tok := store.Token{UserID: userID, Name: strings.TrimSpace(name), Hash: store.HashToken(secret), CreatedAt: a.now()}
	if tok.Name == "" {
		tok.Name = "token " + a.now().Format("2006-01-02 15:04")
	}
	err := a.Store.Update(func(tx *store.Tx) error {
		if _, err := tx.User(userID); err != nil {
			return err
		}
		return tx.PutToken(&tok)
	})
	return secret, tok, err
}

// UserForToken resolves a bearer token to its user.
func (a *App) UserForToken(ctx context.Context, secret string) (store.User, error) {
	var u store.User
	err := a.Store.View(func(tx *store.Tx) error {
		tok, err := tx.TokenByHash(store.HashToken(secret))
		if err != nil {
			return err
		}
		u, err = tx.User(tok.UserID)
		return err
	})
	return u, err
}

// UserByEmail loads a user by address.
func (a *App) UserByEmail(ctx context.Context, email string) (store.User, error) {
	var u store.User
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByEmail(email)
		return err
	})
	return u, err
}

// NewSession starts a browser session and returns the cookie value and its CSRF token.
func (a *App) NewSession(ctx context.Context, userID string, ttl time.Duration) (string, store.Session, error) {
	secret := randomToken(32)
	s := store.Session{Hash: store.HashToken(secret), UserID: userID, CSRF: randomToken(24), CreatedAt: a.now(), ExpiresAt: a.now().Add(ttl)}
	err := a.Store.Update(func(tx *store.Tx) error { return tx.PutSession(s) })
	return secret, s, err
}

// Session resolves a session cookie value to the session and its user.
func (a *App) Session(ctx context.Context, secret string) (store.Session, store.User, error) {
	var s store.Session
	var u store.User
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		if s, err = tx.SessionByHash(store.HashToken(secret)); err != nil {
			return err
		}
		u, err = tx.User(s.UserID)
		return err
	})
	return s, u, err
}

// EndSession signs a browser session out.
func (a *App) EndSession(ctx context.Context, secret string) error {
	return a.Store.Update(func(tx *store.Tx) error { return tx.DeleteSession(store.HashToken(secret)) })
}
