package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/referralpulse/referralpulse/store"
)

// runCLI runs the root command in-process with args, stdin and the given
// environment, and returns stdout, stderr and the error.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestCLIUserTokenAndBackup(t *testing.T) {
	dir := t.TempDir()

	out, _, err := runCLI(t, "correct horse battery\n", "user", "add", "--data-dir", dir, "--email", "ada@example.com", "--name", "Ada Lovelace", "--password-stdin")
	if err != nil || !strings.Contains(out, "created user Ada Lovelace <ada@example.com>") {
		t.Fatalf("user add = %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "correct horse battery\n", "user", "add", "--data-dir", dir, "--email", "ADA@example.com", "--name", "Again", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate user add error = %v", err)
	}
	if _, _, err := runCLI(t, "short\n", "user", "add", "--data-dir", dir, "--email", "bo@example.com", "--name", "Bo", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "the password is 5 characters long") {
		t.Errorf("short password error = %v, want one naming the password", err)
	}
	if _, _, err := runCLI(t, "", "user", "add", "--data-dir", dir, "--email", "not-an-email", "--name", "X"); err == nil || !strings.Contains(err.Error(), "--email") {
		t.Errorf("bad email error = %v, want one naming --email", err)
	}

	out, _, err = runCLI(t, "", "token", "create", "--data-dir", dir, "--email", "ada@example.com")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if err != nil || !strings.HasPrefix(token, "rp_") {
		t.Fatalf("token create = %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "", "token", "create", "--data-dir", dir, "--email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "user add") {
		t.Errorf("token for unknown user error = %v", err)
	}

	// Backup without a server copies the file.
	offline := filepath.Join(t.TempDir(), "offline.db")
	if out, _, err := runCLI(t, "", "backup", "--data-dir", dir, offline); err != nil || !strings.Contains(out, "copied from the database file") {
		t.Fatalf("offline backup = %q, %v", out, err)
	}

	if _, _, err := runCLI(t, "", "backup", "--data-dir", dir, offline); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("backup over an existing file = %v, want a refusal that mentions --force", err)
	}
	if _, _, err := runCLI(t, "", "backup", "--data-dir", dir, "--force", offline); err != nil {
		t.Errorf("backup --force over an existing file: %v", err)
	}
	if _, _, err := runCLI(t, "", "backup", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "FILE") {
		t.Errorf("backup without a file = %v, want a message naming FILE", err)
	}

	// With a server running, user add fails at once and backup requests a copy from the server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(config{Listen: ln.Addr().String(), PublicURL: "http://" + ln.Addr().String(), DataDir: dir, PollSchedule: "@every 1h", LogLevel: "warn", LogFormat: "json"}, zerolog.New(io.Discard), ln, serverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(t.Context())

	if _, _, err := runCLI(t, "", "user", "add", "--data-dir", dir, "--email", "x@example.com", "--name", "X"); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("user add with a running server = %v, want an error naming %s", err, dir)
	}
	online := filepath.Join(t.TempDir(), "online.db")
	if out, _, err := runCLI(t, "", "backup", "--data-dir", dir, online); err != nil || !strings.Contains(out, "streamed from the running server") {
		t.Fatalf("online backup = %q, %v", out, err)
	}
	for _, path := range []string{offline, online} {
		copyDir := t.TempDir()
		raw, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(copyDir, store.FileName), raw, 0o600)
		st, err := store.Open(copyDir, []byte("unused for users"), store.Options{})
		if err != nil {
			t.Fatalf("open backup %s: %v", path, err)
		}
		err = st.View(func(tx *store.Tx) error { _, err := tx.UserByEmail("ada@example.com"); return err })
		st.Close()
		if err != nil {
			t.Errorf("backup %s lacks the user: %v", path, err)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	os.WriteFile(file, []byte("server:\n  listen: 127.0.0.1:7000\nsync:\n  poll_schedule: \"@every 5m\"\nlog:\n  level: debug\n"), 0o600)
	t.Setenv("RP_SYNC_POLL_SCHEDULE", "@every 2m")
	t.Setenv("RP_DATA_DIR", filepath.Join(dir, "from-env"))

	v := viper.New()
	setDefaults(v)
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	bindFlags(v, flags)
	if err := flags.Parse([]string{"--config", file, "--data-dir", filepath.Join(dir, "from-flag")}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(v, flags)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.PublicURL != "http://127.0.0.1:7000" {
		t.Errorf("listen = %s public_url = %s, want the file's value", cfg.Listen, cfg.PublicURL)
	}
	if cfg.PollSchedule != "@every 2m" {
		t.Errorf("poll schedule = %s, want the environment's value over the file's", cfg.PollSchedule)
	}
	if cfg.DataDir != filepath.Join(dir, "from-flag") {
		t.Errorf("data dir = %s, want the flag's value over the environment's", cfg.DataDir)
	}
	if cfg.LogLevel != "debug" {
		t.Errorf("log level = %s, want the file's", cfg.LogLevel)
	}
	if cfg.HubSpotPrimaryLabel != "Primary" || cfg.SMTPPort != 587 {
		t.Errorf("defaults = %q, %d", cfg.HubSpotPrimaryLabel, cfg.SMTPPort)
	}

	if _, err := newLogger(config{LogLevel: "loud"}, io.Discard); err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("bad log level error = %v", err)
	}
	for _, bad := range []string{"ftp://example.com", "http://", "https://rp.example/path?q=1", "https://rp.example/#top", "localhost:8080"} {
		t.Setenv("RP_SERVER_PUBLIC_URL", bad)
		if _, err := loadConfig(v, flags); err == nil || !strings.Contains(err.Error(), "server.public_url") {
			t.Errorf("public url %q: error = %v, want one naming server.public_url", bad, err)
		}
	}
}
