package matcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/blevesearch/bleve/v2"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Index is the Bleve index of referral clients and CRM entities. It is
// derived from the store and can be rebuilt from it at any time.
type Index struct {
	idx bleve.Index
}

// ReferralDoc is the searchable part of one referral copy.
type ReferralDoc struct {
	ID            string
	UserID        string
	ClientName    string
	ClientEmail   string
	ClientCompany string
	Note          string
	// PartnerName is the name of the partner the referral was exchanged with.
	PartnerName string
}

// EntityDoc is the searchable part of one mirrored matter or deal.
type EntityDoc struct {
	ConnectionID string
	EntityType   string
	EntityID     string
	Name         string
	ClientName   string
}

// openLockTimeout bounds the wait for the index's bolt file lock, so a second
// server on the same data directory fails instead of hanging.
const openLockTimeout = "2s"

// batchSize is the number of documents per Bleve batch during a rebuild.
const batchSize = 1000

// OpenIndex opens the index in dir. A missing directory, an unreadable index
// or an index built with an older mapping is removed and created empty, and
// rebuilt reports that the caller must refill it with Batch.
//
// OpenIndex removes dir only when it looks like a Bleve index (it contains
// index_meta.json or store) or is empty. Any other existing path, and an
// index locked by another process, gives an error and is left untouched.
func OpenIndex(dir string) (ix *Index, rebuilt bool, err error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ix, err := createIndex(dir)
		return ix, true, err
	case err != nil:
		return nil, false, fmt.Errorf("open index %s: %w", dir, err)
	case !info.IsDir():
		return nil, false, fmt.Errorf("open index %s: path is a file, not a directory: move it or set another index path", dir)
	}

	idx, openErr := bleve.OpenUsing(dir, map[string]any{"bolt_timeout": openLockTimeout})
	if openErr == nil {
		if current, versionErr := hasCurrentMapping(idx); versionErr == nil && current {
			return &Index{idx: idx}, false, nil
		}
		if closeErr := idx.Close(); closeErr != nil {
			return nil, false, fmt.Errorf("close outdated index %s: %w", dir, closeErr)
		}
	}
	if errors.Is(openErr, bolterrors.ErrTimeout) {
		return nil, false, fmt.Errorf("open index %s: locked by another process after %s: stop the other server or use another data directory: %w", dir, openLockTimeout, openErr)
	}

	if !looksLikeIndex(dir) {
		return nil, false, fmt.Errorf("open index %s: directory is not a Bleve index and is not empty: move it or set another index path (open error: %v)", dir, openErr)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, false, fmt.Errorf("remove unreadable index %s: %w", dir, err)
	}

	ix, err = createIndex(dir)
	return ix, true, err
}

func createIndex(dir string) (*Index, error) {
	im, err := indexMapping()
	if err != nil {
		return nil, err
	}

	idx, err := bleve.New(dir, im)
	if err != nil {
		return nil, fmt.Errorf("create index %s: %w", dir, err)
	}

	if err := idx.SetInternal(mappingVersionKey, []byte(mappingVersion)); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("store mapping version in index %s: %w", dir, err)
	}
	return &Index{idx: idx}, nil
}

func hasCurrentMapping(idx bleve.Index) (bool, error) {
	version, err := idx.GetInternal(mappingVersionKey)
	if err != nil {
		return false, fmt.Errorf("read mapping version: %w", err)
	}
	return string(version) == mappingVersion, nil
}

// looksLikeIndex reports whether dir is empty or contains the files Bleve
// creates, so that removing it cannot delete unrelated data.
func looksLikeIndex(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(entries) == 0 {
		return true
	}

	for _, name := range []string{"index_meta.json", "store"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// Close flushes and closes the index. The Index must not be used afterwards.
func (ix *Index) Close() error {
	if err := ix.idx.Close(); err != nil {
		return fmt.Errorf("close index: %w", err)
	}
	return nil
}

// DocCount returns the number of referral and entity documents.
func (ix *Index) DocCount() (uint64, error) {
	n, err := ix.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("count index documents: %w", err)
	}
	return n, nil
}

// IndexReferral adds or replaces a referral document.
func (ix *Index) IndexReferral(d ReferralDoc) error {
	if err := d.validate(); err != nil {
		return err
	}
	if err := ix.idx.Index(referralDocID(d.ID), d.fields()); err != nil {
		return fmt.Errorf("index referral %s: %w", d.ID, err)
	}
	return nil
}

// IndexEntity adds or replaces a matter or deal document.
func (ix *Index) IndexEntity(d EntityDoc) error {
	if err := d.validate(); err != nil {
		return err
	}
	if err := ix.idx.Index(entityDocID(d.ConnectionID, d.EntityType, d.EntityID), d.fields()); err != nil {
		return fmt.Errorf("index %s %s of connection %s: %w", d.EntityType, d.EntityID, d.ConnectionID, err)
	}
	return nil
}

// DeleteReferral removes a referral document. Deleting an id that is not
// indexed is not an error.
func (ix *Index) DeleteReferral(id string) error {
	if id == "" {
		return errors.New("delete referral from index: missing referral id")
	}
	if err := ix.idx.Delete(referralDocID(id)); err != nil {
		return fmt.Errorf("delete referral %s from index: %w", id, err)
	}
	return nil
}

// DeleteEntity removes a matter or deal document, for an entity deleted in
// the CRM or a removed connection. Deleting an entity that is not indexed is
// not an error.
func (ix *Index) DeleteEntity(connectionID, entityType, entityID string) error {
	if err := validateEntityKey("delete entity from index", connectionID, entityType, entityID); err != nil {
		return err
	}
	if err := ix.idx.Delete(entityDocID(connectionID, entityType, entityID)); err != nil {
		return fmt.Errorf("delete %s %s of connection %s from index: %w", entityType, entityID, connectionID, err)
	}
	return nil
}

// Batch indexes many documents in batches of batchSize, for rebuilds. It
// validates every document before writing any, so an invalid document
// leaves the index unchanged. A failure in a later batch leaves the earlier
// batches written.
func (ix *Index) Batch(referrals []ReferralDoc, entities []EntityDoc) error {
	for _, d := range referrals {
		if err := d.validate(); err != nil {
			return err
		}
	}
	for _, d := range entities {
		if err := d.validate(); err != nil {
			return err
		}
	}

	w := batchWriter{ix: ix, batch: ix.idx.NewBatch()}
	for _, d := range referrals {
		if err := w.add(referralDocID(d.ID), d.fields()); err != nil {
			return err
		}
	}
	for _, d := range entities {
		if err := w.add(entityDocID(d.ConnectionID, d.EntityType, d.EntityID), d.fields()); err != nil {
			return err
		}
	}
	return w.flush()
}

// batchWriter sends a Bleve batch whenever it reaches batchSize documents.
type batchWriter struct {
	ix      *Index
	batch   *bleve.Batch
	written int
}

func (w *batchWriter) add(id string, fields map[string]any) error {
	if err := w.batch.Index(id, fields); err != nil {
		return fmt.Errorf("add document %s to index batch: %w", id, err)
	}
	if w.batch.Size() >= batchSize {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	if w.batch.Size() == 0 {
		return nil
	}

	n := w.batch.Size()
	if err := w.ix.idx.Batch(w.batch); err != nil {
		return fmt.Errorf("write index batch of %d documents after %d written: %w", n, w.written, err)
	}
	w.written += n
	w.batch.Reset()
	return nil
}

func (d ReferralDoc) validate() error {
	if d.ID == "" {
		return fmt.Errorf("index referral for user %q: missing referral id", d.UserID)
	}
	if d.UserID == "" {
		return fmt.Errorf("index referral %s: missing user id, which search filters on", d.ID)
	}
	return nil
}

func (d ReferralDoc) fields() map[string]any {
	return map[string]any{
		typeField:          typeReferral,
		fieldUserID:        d.UserID,
		fieldClientName:    d.ClientName,
		fieldClientEmail:   d.ClientEmail,
		fieldClientCompany: d.ClientCompany,
		fieldNote:          d.Note,
		fieldPartnerName:   d.PartnerName,
	}
}

func (d EntityDoc) validate() error {
	return validateEntityKey("index entity", d.ConnectionID, d.EntityType, d.EntityID)
}

func validateEntityKey(op, connectionID, entityType, entityID string) error {
	if connectionID == "" || entityType == "" || entityID == "" {
		return fmt.Errorf("%s: missing connection id, entity type or entity id (got %q, %q, %q)", op, connectionID, entityType, entityID)
	}
	if strings.ContainsRune(connectionID+entityType+entityID, 0) {
		return fmt.Errorf("%s: connection id, entity type or entity id contains a NUL byte (got %q, %q, %q)", op, connectionID, entityType, entityID)
	}
	return nil
}

func (d EntityDoc) fields() map[string]any {
	return map[string]any{
		typeField:         typeEntity,
		fieldConnectionID: d.ConnectionID,
		fieldEntityType:   d.EntityType,
		fieldEntityID:     d.EntityID,
		fieldName:         d.Name,
		fieldClientName:   d.ClientName,
	}
}

// Document ids carry the type, so a referral and an entity with the same
// id never replace each other. Entity ids join their parts with a NUL byte,
// which validateEntityKey rejects inside the parts.
const referralIDPrefix = "referral/"

func referralDocID(id string) string {
	return referralIDPrefix + id
}

func entityDocID(connectionID, entityType, entityID string) string {
	return "entity/" + connectionID + "\x00" + entityType + "\x00" + entityID
}
