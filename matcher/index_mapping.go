package matcher

import (
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"

	// The custom analyzer is stored by name in the index. These packages
	// register its parts, so bleve.Open works in any binary that links
	// this package.
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	_ "github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	_ "github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	_ "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
)

// mappingVersion changes whenever indexMapping changes. OpenIndex rebuilds
// an index stored with another version, because Bleve keeps the mapping it
// was created with.
const mappingVersion = "1"

// mappingVersionKey is the Bleve internal key that stores mappingVersion.
var mappingVersionKey = []byte("matcher_mapping_version")

// textAnalyzer folds accents and case and splits on Unicode word boundaries,
// the same folding Decide uses for names.
const textAnalyzer = "matcher_text"

// Document types and field names as stored in the index.
const (
	typeField    = "type"
	typeReferral = "referral"
	typeEntity   = "entity"

	fieldUserID        = "user_id"
	fieldClientName    = "client_name"
	fieldClientEmail   = "client_email"
	fieldClientCompany = "client_company"
	fieldNote          = "note"

	fieldConnectionID = "connection_id"
	fieldEntityType   = "entity_type"
	fieldEntityID     = "entity_id"
	fieldName         = "name"
)

// referralSearchFields and entitySearchFields are the text fields a query
// searches for each document type.
var (
	referralSearchFields = []string{fieldClientName, fieldClientCompany, fieldClientEmail, fieldNote}
	entitySearchFields   = []string{fieldName, fieldClientName}
)

// indexMapping returns the lean mapping: only the listed fields are indexed,
// with no term vectors, doc values or _all field, and only the fields an
// EntityDoc result needs are stored.
func indexMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.TypeField = typeField
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	im.DefaultMapping = bleve.NewDocumentDisabledMapping()

	err := im.AddCustomAnalyzer(textAnalyzer, map[string]any{
		"type":          "custom",
		"char_filters":  []any{"asciifolding"},
		"tokenizer":     "unicode",
		"token_filters": []any{"to_lower"},
	})
	if err != nil {
		return nil, fmt.Errorf("add analyzer %s: %w", textAnalyzer, err)
	}
	im.DefaultAnalyzer = textAnalyzer

	referral := bleve.NewDocumentStaticMapping()
	referral.AddFieldMappingsAt(fieldUserID, keywordField(false))
	referral.AddFieldMappingsAt(fieldClientName, textField(false))
	referral.AddFieldMappingsAt(fieldClientEmail, textField(false))
	referral.AddFieldMappingsAt(fieldClientCompany, textField(false))
	referral.AddFieldMappingsAt(fieldNote, textField(false))
	im.AddDocumentMapping(typeReferral, referral)

	entity := bleve.NewDocumentStaticMapping()
	entity.AddFieldMappingsAt(fieldConnectionID, keywordField(false))
	entity.AddFieldMappingsAt(fieldEntityType, storedOnlyField())
	entity.AddFieldMappingsAt(fieldEntityID, storedOnlyField())
	entity.AddFieldMappingsAt(fieldName, textField(true))
	entity.AddFieldMappingsAt(fieldClientName, textField(true))
	im.AddDocumentMapping(typeEntity, entity)

	return im, nil
}

func keywordField(store bool) *mapping.FieldMapping {
	f := bleve.NewKeywordFieldMapping()
	f.Store = store
	f.IncludeTermVectors = false
	f.IncludeInAll = false
	f.DocValues = false
	return f
}

func textField(store bool) *mapping.FieldMapping {
	f := bleve.NewTextFieldMapping()
	f.Analyzer = textAnalyzer
	f.Store = store
	f.IncludeTermVectors = false
	f.IncludeInAll = false
	f.DocValues = false
	return f
}

func storedOnlyField() *mapping.FieldMapping {
	f := keywordField(true)
	f.Index = false
	return f
}
