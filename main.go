// Command referralpulse runs the ReferralPulse appliance: a single-binary
// server that keeps client referrals in step with Clio and HubSpot.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	v := viper.New()
	setDefaults(v)
	root := &cobra.Command{
		Use:           "referralpulse",
		Short:         "Keep client referrals in step with Clio and HubSpot",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, args []string) error { return runServe(cmd, v) },
	}
	bindFlags(v, root.PersistentFlags())

	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Run the server (the default command)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runServe(cmd, v) },
	})
	root.AddCommand(newUserCommand(v), newTokenCommand(v), newBackupCommand(v), newDemoCommand(v))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "referralpulse %s (schema %d)\n", version, store.SchemaVersion)
		},
	})
	return root
}

// loadRuntime reads the configuration and builds the root logger for a
// command that runs the server.
func loadRuntime(cmd *cobra.Command, v *viper.Viper) (config, zerolog.Logger, error) {
	cfg, err := loadConfig(v, cmd.Flags())
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	log, err := newLogger(cfg, os.Stderr)
	return cfg, log, err
}

func runServe(cmd *cobra.Command, v *viper.Viper) error {
	cfg, log, err := loadRuntime(cmd, v)
	if err != nil {
		return err
	}
	s, err := startServer(cfg, log, nil, serverOptions{})
	if err != nil {
		return err
	}
	return waitForSignal(s)
}

// waitForSignal blocks until SIGINT or SIGTERM, or until the HTTP server
// fails, then shuts everything down in order.
func waitForSignal(s *server) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var serveErr error
	select {
	case got := <-sig:
		s.log.Info().Str("signal", got.String()).Msg("shutting down")
	case serveErr = <-s.serveErr:
		s.log.Error().Err(serveErr).Msg("http server stopped unexpectedly")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s.close(ctx)
	s.log.Info().Msg("server stopped")
	return serveErr
}

// openApp opens the database for a CLI command; it fails at once when a
// server holds the data directory.
func openApp(cmd *cobra.Command, v *viper.Viper) (*app.App, func(), error) {
	cfg, err := loadConfig(v, cmd.Flags())
	if err != nil {
		return nil, nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cfg.DataDir, key, store.Options{LockTimeout: 500 * time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(config{LogLevel: "warn", LogFormat: "console"}, os.Stderr)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	a := app.New(st, nil, log)
	return a, func() { st.Close() }, nil
}

func newUserCommand(v *viper.Viper) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage user accounts"}
	var email, name string
	var fromStdin bool
	add := &cobra.Command{
		Use:   "add",
		Short: "Create a user account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			a, closeFn, err := openApp(cmd, v)
			if err != nil {
				return err
			}
			defer closeFn()
			u, err := a.CreateUser(cmd.Context(), email, name, password)
			if err != nil {
				if fe, ok := app.IsInputError(err); ok {
					if fe.Field == "password" {
						return fmt.Errorf("the password %s", fe.Message)
					}
					return fmt.Errorf("--%s %s", fe.Field, fe.Message)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s <%s> (id %s)\n", u.Name, u.Email, u.ID)
			return nil
		},
	}
	add.Flags().StringVar(&email, "email", "", "the user's email address, used to sign in (required)")
	add.Flags().StringVar(&name, "name", "", "the user's full name (required)")
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input instead of prompting")
	_ = add.MarkFlagRequired("email")
	_ = add.MarkFlagRequired("name")
	user.AddCommand(add)
	return user
}

// readPassword reads the password from stdin's first line, or prompts on
// the terminal twice. Without a terminal and without --password-stdin the
// account gets no password and can use API tokens only.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return "", errors.New("--password-stdin given but standard input was empty")
		}
		return password, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		fmt.Fprintln(cmd.ErrOrStderr(), "no terminal: creating the account without a password (API tokens only); use --password-stdin to set one")
		return "", nil
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Password (at least 10 characters): ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Repeat password: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("the two passwords differ; run the command again")
	}
	return string(first), nil
}

func newTokenCommand(v *viper.Viper) *cobra.Command {
	token := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var email, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Print a new API token for a user (alone on the last line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, closeFn, err := openApp(cmd, v)
			if err != nil {
				return err
			}
			defer closeFn()
			u, err := a.UserByEmail(cmd.Context(), email)
			if err != nil {
				return fmt.Errorf("no user with email %q: create one with `referralpulse user add`", email)
			}
			secret, _, err := a.CreateToken(cmd.Context(), u.ID, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "API token for %s (shown once; send it as Authorization: Bearer <token>):\n", u.Email)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&email, "email", "", "email of the user the token acts for (required)")
	create.Flags().StringVar(&name, "name", "", "a label for the token, such as the script that uses it")
	_ = create.MarkFlagRequired("email")
	token.AddCommand(create)
	return token
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}
