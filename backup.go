package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/referralpulse/referralpulse/store"
)

func newBackupCommand(v *viper.Viper) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the database to FILE, with the server running or not",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("backup needs exactly one destination FILE, for example: referralpulse backup referralpulse-2026-12-04.db")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(v, cmd.Flags())
			if err != nil {
				return err
			}
			if _, err := os.Stat(args[0]); err == nil && !force {
				return fmt.Errorf("%s already exists: choose another name or pass --force to replace it", args[0])
			}
			n, how, err := backup(cmd.Context(), cfg, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d bytes to %s (%s)\n", n, args[0], how)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE when it already exists")
	return cmd
}

// backup requests a copy from the running server when one holds the data
// directory, and otherwise reads the file itself in a read transaction.
// The copy is written to a temporary file and renamed, so FILE is never
// left half-written.
func backup(ctx context.Context, cfg config, dest string) (int64, string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".referralpulse-backup-*")
	if err != nil {
		return 0, "", fmt.Errorf("create backup file next to %s: %w", dest, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	n, how, err := backupFromServer(ctx, cfg, tmp)
	if errors.Is(err, errNoServer) {
		n, how, err = backupFromFile(cfg, tmp)
	}
	if err != nil {
		return 0, "", err
	}
	if err := tmp.Sync(); err != nil {
		return 0, "", err
	}
	if err := tmp.Close(); err != nil {
		return 0, "", err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return 0, "", fmt.Errorf("move backup into place at %s: %w", dest, err)
	}
	return n, how, nil
}

var errNoServer = errors.New("no running server")

func backupFromServer(ctx context.Context, cfg config, w io.Writer) (int64, string, error) {
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, adminFile))
	if err != nil {
		return 0, "", errNoServer
	}
	var info adminInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return 0, "", errNoServer
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+info.Listen+"/internal/backup", nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		// A stale admin file from a server that crashed: fall back to the file.
		return 0, "", errNoServer
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("backup request to the server at %s failed with %s; check that it is a referralpulse server and retry", info.Listen, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, "", fmt.Errorf("copy backup from server: %w", err)
	}
	return n, "streamed from the running server", nil
}

func backupFromFile(cfg config, w io.Writer) (int64, string, error) {
	key, err := secretKey(cfg)
	if err != nil {
		return 0, "", err
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, store.FileName)); err != nil {
		return 0, "", fmt.Errorf("no database in %s: check data.dir", cfg.DataDir)
	}
	st, err := store.Open(cfg.DataDir, key, store.Options{ReadOnly: true, LockTimeout: time.Second})
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	n, err := st.Backup(w)
	if err != nil {
		return n, "", fmt.Errorf("copy database: %w", err)
	}
	return n, "copied from the database file", nil
}
