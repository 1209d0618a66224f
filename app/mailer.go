package app

import (
	"context"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTPConfig is the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
}

// SMTPMailer sends mail through one SMTP server with STARTTLS when the
// server offers it.
type SMTPMailer struct {
	cfg SMTPConfig
}

// NewSMTPMailer checks the settings; a config without host returns nil, nil
// because sending is simply off.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	if cfg.Host == "" {
		return nil, nil
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("smtp.from is empty: set the sender address, for example referrals@yourfirm.example")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	return &SMTPMailer{cfg: cfg}, nil
}

// Send delivers one plain-text message.
func (m *SMTPMailer) Send(ctx context.Context, to, subject, body string) error {
	msg := mail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return fmt.Errorf("smtp.from %q: %w", m.cfg.From, err)
	}
	if err := msg.To(to); err != nil {
		return fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(subject)
	msg.SetBodyString(mail.TypeTextPlain, body)

	opts := []mail.Option{
		mail.WithPort(m.cfg.Port),
		mail.WithTimeout(20 * time.Second),
		mail.WithTLSPolicy(mail.TLSOpportunistic),
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	client, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", m.cfg.Host, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail through %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}
