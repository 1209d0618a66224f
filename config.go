package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// config is the whole configuration after viper has merged the file, the
// RP_ environment variables and the flags.
type config struct {
	Listen       string
	PublicURL    string
	DataDir      string
	SecretKey    string
	PollSchedule string
	LogLevel     string
	LogFormat    string

	ClioClientID, ClioClientSecret, ClioBaseURL                        string
	HubSpotClientID, HubSpotClientSecret, HubSpotAppID, HubSpotBaseURL string
	HubSpotAuthURL, HubSpotPrimaryLabel                                string
	SMTPHost, SMTPUsername, SMTPPassword, SMTPFrom                     string
	SMTPPort                                                           int
}

func setDefaults(v *viper.Viper) {
	v.SetDefault("server.listen", "127.0.0.1:8080")
	v.SetDefault("server.public_url", "")
	v.SetDefault("data.dir", "./data")
	v.SetDefault("security.secret_key", "")
	v.SetDefault("clio.client_id", "")
	v.SetDefault("clio.client_secret", "")
	v.SetDefault("clio.base_url", "https://app.clio.com")
	v.SetDefault("hubspot.client_id", "")
	v.SetDefault("hubspot.client_secret", "")
	v.SetDefault("hubspot.app_id", "")
	v.SetDefault("hubspot.base_url", "https://api.hubapi.com")
	v.SetDefault("hubspot.auth_url", "https://app.hubspot.com")
	v.SetDefault("hubspot.primary_label", "Primary")
	v.SetDefault("sync.poll_schedule", "@every 10m")
	v.SetDefault("smtp.host", "")
	v.SetDefault("smtp.port", 587)
	v.SetDefault("smtp.username", "")
	v.SetDefault("smtp.password", "")
	v.SetDefault("smtp.from", "")
	v.SetDefault("log.level", "info")
	v.SetDefault("log.format", "")
}

// bindFlags adds the command-line flags every command shares and ties them to keys.
func bindFlags(v *viper.Viper, flags *pflag.FlagSet) {
	flags.String("config", "", "configuration file (default: ./config.yaml when present)")
	flags.String("listen", "", "address to listen on, host:port (server.listen)")
	flags.String("public-url", "", "base URL that CRMs and browsers use to reach this server (server.public_url)")
	flags.String("data-dir", "", "directory of the database and search index (data.dir)")
	flags.String("log-level", "", "debug, info, warn or error (log.level)")
	for flag, key := range map[string]string{
		"listen": "server.listen", "public-url": "server.public_url",
		"data-dir": "data.dir", "log-level": "log.level",
	} {
		_ = v.BindPFlag(key, flags.Lookup(flag))
	}
}

// loadConfig reads the configuration file (when present), the environment and the flags.
func loadConfig(v *viper.Viper, flags *pflag.FlagSet) (config, error) {
	v.SetEnvPrefix("RP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	file, _ := flags.GetString("config")
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return config{}, fmt.Errorf("read configuration %s: %w", file, err)
		}
	} else {
		v.SetConfigName("config")
		v.SetConfigType("yaml")
		v.AddConfigPath(".")
		if err := v.ReadInConfig(); err != nil {
			var notFound viper.ConfigFileNotFoundError
			if !errors.As(err, &notFound) {
				return config{}, fmt.Errorf("read configuration config.yaml: %w", err)
			}
		}
	}

	c := config{
		Listen: v.GetString("server.listen"), PublicURL: v.GetString("server.public_url"),
		DataDir: v.GetString("data.dir"), SecretKey: v.GetString("security.secret_key"),
		PollSchedule: v.GetString("sync.poll_schedule"),
		LogLevel:     v.GetString("log.level"), LogFormat: v.GetString("log.format"),
		ClioClientID: v.GetString("clio.client_id"), ClioClientSecret: v.GetString("clio.client_secret"),
		ClioBaseURL:     v.GetString("clio.base_url"),
		HubSpotClientID: v.GetString("hubspot.client_id"), HubSpotClientSecret: v.GetString("hubspot.client_secret"),
		HubSpotAppID: v.GetString("hubspot.app_id"), HubSpotBaseURL: v.GetString("hubspot.base_url"),
		HubSpotAuthURL: v.GetString("hubspot.auth_url"), HubSpotPrimaryLabel: v.GetString("hubspot.primary_label"),
		SMTPHost: v.GetString("smtp.host"), SMTPPort: v.GetInt("smtp.port"),
		SMTPUsername: v.GetString("smtp.username"), SMTPPassword: v.GetString("smtp.password"),
		SMTPFrom: v.GetString("smtp.from"),
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if err := checkPublicURL(c.PublicURL); err != nil {
		return c, err
	}
	if c.DataDir == "" {
		return c, errors.New("data.dir is empty: set it to the directory for the database, for example ./data")
	}
	return c, nil
}

// checkPublicURL accepts an absolute http or https URL with a host and no
// query or fragment, because webhook and callback URLs are built by
// appending paths to it.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("server.public_url %q is not a URL: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("server.public_url %q must start with http:// or https://", raw)
	case u.Host == "":
		return fmt.Errorf("server.public_url %q has no host: write it as https://referrals.example.com", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Errorf("server.public_url %q must not have a query or fragment: write only the scheme, host and optional path", raw)
	}
	return nil
}

// secretKey returns security.secret_key, or the key file in the data
// directory, generating it on first start.
func secretKey(c config) ([]byte, error) {
	if c.SecretKey != "" {
		if len(c.SecretKey) < 16 {
			return nil, errors.New("security.secret_key is shorter than 16 characters: use a long random value, for example from `openssl rand -hex 32`")
		}
		return []byte(c.SecretKey), nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	raw, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(raw))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", c.DataDir, err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(key), nil
}

// newLogger builds the root logger: console output on a terminal, JSON otherwise.
func newLogger(c config, out io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.LogLevel)
	if err != nil || c.LogLevel == "" {
		return zerolog.Nop(), fmt.Errorf("log.level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	format := c.LogFormat
	if format == "" {
		format = "json"
		if f, ok := out.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "console"
			}
		}
	}
	switch format {
	case "console":
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05"}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log.format %q is not console or json", format)
	}
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}
