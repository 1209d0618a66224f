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
const mappingVersion = "2"

// mappingVersionKey is the Bleve internal key that stores mappingVersion.
var mappingVersionKey = []byte("matcher_mapping_version")

// textAnalyzer splits on Unicode word boundaries and folds case and accents
// with Bleve's asciifolding filter, which covers more scripts than the Latin
// table Decide uses.
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
	fieldPartnerName   = "partner_name"

	fieldConnectionID = "connection_id"
	fieldEntityType   = "entity_type"
	fieldEntityID     = "entity_id"
	fieldName         = "name"
)

// searchField is a text field a query searches. Typo tolerance is limited
// to names and companies: email parts and note words are mostly unique
// terms, so fuzzy matching there costs time and finds noise.
type searchField struct {
	name  string
	fuzzy bool
}

// referralSearchFields and entitySearchFields are the text fields a query
// searches for each document type.
var (
	referralSearchFields = []searchField{
		{name: fieldClientName, fuzzy: true},
		{name: fieldClientCompany, fuzzy: true},
		{name: fieldClientEmail},
		{name: fieldNote},
		{name: fieldPartnerName, fuzzy: true},
	}
	entitySearchFields = []searchField{
		{name: fieldName, fuzzy: true},
		{name: fieldClientName, fuzzy: true},
	}
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
	referral.AddFieldMappingsAt(fieldPartnerName, textField(false))
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
