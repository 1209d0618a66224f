package ui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// authForm is the data of the setup, sign-in and invitation pages.
type authForm struct {
	Email   string
	Name    string
	Company string
	Next    string
	Errors  fieldErrors
	// Inviter and Token are set on the invitation page.
	Inviter string
	Token   string
	Partner store.Partner
	// ProfileSaved is set after the invited partner saved a profile.
	ProfileSaved bool
}

// accountLabels are the visible labels of the setup and sign-up forms.
var accountLabels = map[string]string{
	"name": "Name", "email": "Email", "password": "Password", "password_confirm": "Repeated password",
}

// signedInUser reports whether the browser already has a valid session.
func (p *pages) signedInUser(c *fiber.Ctx) bool {
	_, _, err := p.session(c)
	return err == nil
}

// checkNewPassword checks a new password and its repetition.
func checkNewPassword(check *formCheck, password, repeated string) {
	switch {
	case password == "":
		check.add("password", "is required.")
	case len(password) < app.MinPasswordLen:
		check.add("password", fmt.Sprintf("is %d characters long; use at least %d.", len(password), app.MinPasswordLen))
	}
	if password != "" && password != repeated {
		check.add("password_confirm", "does not match the password.")
	}
}

func (p *pages) setupForm(c *fiber.Ctx) error {
	if !p.noUsers() {
		if p.signedInUser(c) {
			return c.Redirect("/dashboard", fiber.StatusSeeOther)
		}
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	v := &view{Title: "Set up ReferralPulse", CSRF: p.preSessionToken(c), Data: authForm{}}
	return p.tmpl.render(c, fiber.StatusOK, "setup", v)
}

// setup creates the first account and signs it in. Once any user exists
// the form is gone, and later accounts come from invitations or the CLI.
func (p *pages) setup(c *fiber.Ctx) error {
	if err := p.checkPreSessionCSRF(c); err != nil {
		return p.errorPage(c, err)
	}
	p.setupMu.Lock()
	defer p.setupMu.Unlock()
	if !p.noUsers() {
		return p.errorPage(c, apiError(fiber.StatusConflict, "conflict", "Setup is already done. Sign in, or ask the owner of this server for an invitation.", ""))
	}

	form := authForm{Email: strings.TrimSpace(c.FormValue("email")), Name: strings.TrimSpace(c.FormValue("name"))}
	password := c.FormValue("password")
	check := newFormCheck(accountLabels)
	check.required("name", form.Name)
	if form.Email == "" {
		check.add("email", "is required.")
	} else if _, err := app.CheckEmail("email", form.Email, true); err != nil {
		check.add("email", "is not a valid email address, for example name@example.com.")
	}
	checkNewPassword(check, password, c.FormValue("password_confirm"))
	if check.ok() {
		u, err := p.App.CreateUser(c.UserContext(), form.Email, form.Name, password)
		if err == nil {
			p.log.Info().Str("user_id", u.ID).Msg("first account created through setup")
			return p.startSession(c, u, "/dashboard")
		}
		fe, ok := asFieldErrors(err)
		if !ok {
			return p.errorPage(c, err)
		}
		check.addAll(fe)
	}
	form.Errors = check.errs
	v := &view{Title: "Set up ReferralPulse", CSRF: p.preSessionToken(c), Data: form}
	return p.tmpl.render(c, fiber.StatusBadRequest, "setup", v)
}

func (p *pages) loginForm(c *fiber.Ctx) error {
	if p.noUsers() {
		return c.Redirect("/setup", fiber.StatusSeeOther)
	}
	if p.signedInUser(c) {
		return c.Redirect(localPath(c.Query("next"), "/dashboard"), fiber.StatusSeeOther)
	}
	form := authForm{Next: localPath(c.Query("next"), "")}
	v := &view{Title: "Sign in", CSRF: p.preSessionToken(c), Data: form}
	return p.tmpl.render(c, fiber.StatusOK, "login", v)
}

// login checks the password with the throttle in front: too many failures
// for the account or from the address get 429 before bcrypt runs.
func (p *pages) login(c *fiber.Ctx) error {
	if err := p.checkPreSessionCSRF(c); err != nil {
		return p.errorPage(c, err)
	}
	form := authForm{Email: strings.TrimSpace(c.FormValue("email")), Next: localPath(c.FormValue("next"), "")}
	if check := checkSignInForm(form.Email, c.FormValue("password")); !check.ok() {
		form.Errors = check.errs
		v := &view{Title: "Sign in", CSRF: p.preSessionToken(c), Data: form}
		return p.tmpl.render(c, fiber.StatusBadRequest, "login", v)
	}
	keys := throttleKeys(form.Email, c.IP())
	if wait := p.throttle.blocked(keys...); wait > 0 {
		p.log.Warn().Str("client_ip", c.IP()).Msg("sign-in throttled")
		minutes := int(wait.Minutes()) + 1
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(wait.Seconds())+1))
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(fiber.StatusTooManyRequests).SendString(fmt.Sprintf("Too many failed sign-in attempts. Wait %d minutes and try again.", minutes))
	}

	u, err := p.App.Authenticate(c.UserContext(), form.Email, c.FormValue("password"))
	if err != nil {
		p.throttle.fail(keys...)
		p.log.Info().Str("client_ip", c.IP()).Msg("sign-in failed")
		form.Errors = fieldErrors{"password": "Wrong email or password."}
		v := &view{Title: "Sign in", CSRF: p.preSessionToken(c), Data: form}
		return p.tmpl.render(c, fiber.StatusUnauthorized, "login", v)
	}
	p.throttle.succeed(keys[0])
	p.log.Info().Str("user_id", u.ID).Msg("signed in")
	return p.startSession(c, u, localPath(form.Next, "/dashboard"))
}

// checkSignInForm names the empty fields of a sign-in before the password
// check, which would only say that the pair is wrong.
func checkSignInForm(email, password string) *formCheck {
	check := newFormCheck(map[string]string{"email": "Email", "password": "Password"})
	check.required("email", email)
	if password == "" {
		check.add("password", "is required.")
	}
	return check
}

// startSession ends any session the browser already had and issues a new
// one, so a session id planted before sign-in is useless after it.
func (p *pages) startSession(c *fiber.Ctx, u store.User, target string) error {
	if old := c.Cookies(SessionCookie); old != "" {
		if err := p.App.EndSession(c.UserContext(), old); err != nil {
			p.log.Warn().Err(err).Msg("end previous session failed")
		}
	}
	secret, _, err := p.App.NewSession(c.UserContext(), u.ID, sessionTTL)
	if err != nil {
		return p.errorPage(c, fmt.Errorf("start session: %w", err))
	}
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: p.secureCookies(),
	})
	return redirectAfterPost(c, target)
}

func (p *pages) logout(c *fiber.Ctx, v *view) error {
	if err := p.App.EndSession(c.UserContext(), c.Cookies(SessionCookie)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: p.secureCookies(),
	})
	p.log.Info().Str("user_id", v.User.ID).Msg("signed out")
	return redirectAfterPost(c, "/login")
}

// invitation loads the partner record and inviter behind an invitation token.
func (p *pages) invitation(token string) (store.Partner, store.User, error) {
	var partner store.Partner
	var inviter store.User
	err := p.App.Store.View(func(tx *store.Tx) error {
		var err error
		if partner, err = tx.PartnerByInviteToken(token); err != nil {
			return err
		}
		inviter, err = tx.User(partner.UserID)
		return err
	})
	if err != nil {
		return partner, inviter, apiError(fiber.StatusNotFound, "not_found", "This invitation link is not valid any more. Ask the person who invited you for a new one.", "")
	}
	return partner, inviter, nil
}

func (p *pages) inviteForm(c *fiber.Ctx) error {
	return p.renderInvite(c, fiber.StatusOK, authForm{}, c.Params("token"))
}

func (p *pages) renderInvite(c *fiber.Ctx, status int, form authForm, token string) error {
	partner, inviter, err := p.invitation(token)
	if err != nil {
		return p.errorPage(c, err)
	}
	form.Token = token
	form.Partner = partner
	form.Inviter = inviter.Name
	if form.Name == "" {
		form.Name = partner.Name
	}
	if form.Company == "" {
		form.Company = partner.Company
	}
	v := &view{Title: "Your invitation", CSRF: p.preSessionToken(c), Data: form}
	return p.tmpl.render(c, status, "invite", v)
}

// inviteProfile saves the invited partner's name and company without an account.
func (p *pages) inviteProfile(c *fiber.Ctx) error {
	if err := p.checkPreSessionCSRF(c); err != nil {
		return p.errorPage(c, err)
	}
	token := c.Params("token")
	form := authForm{Name: strings.TrimSpace(c.FormValue("name")), Company: strings.TrimSpace(c.FormValue("company"))}
	if _, err := p.App.MarkProfileUpdated(c.UserContext(), token, form.Name, form.Company); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return p.errorPage(c, apiError(fiber.StatusNotFound, "not_found", "This invitation link is not valid any more. Ask the person who invited you for a new one.", ""))
		}
		return p.errorPage(c, err)
	}
	form.ProfileSaved = true
	return p.renderInvite(c, fiber.StatusOK, form, token)
}

// inviteRegister creates the invited partner's account and signs them in.
func (p *pages) inviteRegister(c *fiber.Ctx) error {
	if err := p.checkPreSessionCSRF(c); err != nil {
		return p.errorPage(c, err)
	}
	token := c.Params("token")
	if _, _, err := p.invitation(token); err != nil {
		return p.errorPage(c, err)
	}
	form := authForm{Name: strings.TrimSpace(c.FormValue("name"))}
	password := c.FormValue("password")
	check := newFormCheck(accountLabels)
	check.required("name", form.Name)
	checkNewPassword(check, password, c.FormValue("password_confirm"))
	if !check.ok() {
		form.Errors = check.errs
		return p.renderInvite(c, fiber.StatusBadRequest, form, token)
	}
	u, err := p.App.RegisterWithInvite(c.UserContext(), token, form.Name, password)
	if err != nil {
		fe, ok := asFieldErrors(err)
		if !ok {
			return p.errorPage(c, err)
		}
		check.addAll(fe)
		form.Errors = check.errs
		return p.renderInvite(c, fiber.StatusBadRequest, form, token)
	}
	p.log.Info().Str("user_id", u.ID).Msg("invited partner registered")
	return p.startSession(c, u, "/dashboard")
}
