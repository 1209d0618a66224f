package matcher

import (
	"unicode"
	"unicode/utf8"
)

// token is one word of a name: its normalized form (lower case, accents
// folded, apostrophes removed) and the same word as written in the input.
type token struct {
	norm  string
	raw   string
	start int // byte offset of raw in the input
}

// tokenizeOptions selects how a dot is treated. Person names split on dots
// ("J.R." gives two initials), while company and matter names drop them so
// "S.A." and "Inc." become the single words "sa" and "inc".
type tokenizeOptions struct {
	dropDots bool
}

// tokenize splits s into words at every rune that is not a letter or digit,
// folding case and accents. Apostrophes are dropped inside a word, so
// "O'Brien" is the single word "obrien".
func tokenize(s string, opts tokenizeOptions) []token {
	buf := make([]byte, 0, len(s))
	var spanStorage [8]wordSpan
	spans := spanStorage[:0]

	inWord := false
	var current wordSpan
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}

		switch classifyRune(r, opts) {
		case runeJoiner:
			if inWord {
				current.rawEnd = i + size
			}
		case runeSeparator:
			if inWord {
				current.normEnd = len(buf)
				spans = append(spans, current)
				inWord = false
			}
		case runeWord:
			if !inWord {
				inWord = true
				current = wordSpan{normStart: len(buf), rawStart: i}
			}
			buf = appendFolded(buf, r)
			current.rawEnd = i + size
		}
		i += size
	}
	if inWord {
		current.normEnd = len(buf)
		spans = append(spans, current)
	}

	normalized := string(buf)
	tokens := make([]token, 0, len(spans))
	for _, sp := range spans {
		if sp.normEnd == sp.normStart {
			continue
		}
		tokens = append(tokens, token{
			norm:  normalized[sp.normStart:sp.normEnd],
			raw:   s[sp.rawStart:sp.rawEnd],
			start: sp.rawStart,
		})
	}
	return tokens
}

// wordSpan locates one word in the normalized buffer and in the input.
type wordSpan struct{ normStart, normEnd, rawStart, rawEnd int }

// runeClass is the role of a rune when splitting words.
type runeClass int

const (
	runeSeparator runeClass = iota
	runeWord
	// runeJoiner stays inside a word without being part of its normalized
	// form: apostrophes, combining accents and, for company names, dots.
	runeJoiner
)

func classifyRune(r rune, opts tokenizeOptions) runeClass {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			return runeWord
		case r == '\'' || r == '`' || (r == '.' && opts.dropDots):
			return runeJoiner
		}
		return runeSeparator
	}

	switch {
	case r == '\u2019' || r == '\u2018' || unicode.Is(unicode.Mn, r):
		return runeJoiner
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return runeWord
	}
	return runeSeparator
}

// appendFolded appends r in lower case with its accent removed. Letters
// outside the Latin tables are appended in lower case unchanged.
func appendFolded(buf []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(buf, byte(r))
	}

	r = unicode.ToLower(r)
	if folded, ok := latinFolds[r]; ok {
		return append(buf, folded...)
	}
	return utf8.AppendRune(buf, r)
}

// latinFolds maps lower-case Latin-1 and Latin Extended-A letters to their
// ASCII base letters. It is a constant table built once from latinFoldGroups.
var latinFolds = buildLatinFolds()

// latinFoldGroups lists, for each ASCII replacement, the letters that fold to it.
var latinFoldGroups = map[string]string{
	"a":  "àáâãäåāăą",
	"ae": "æ",
	"c":  "çćĉċč",
	"d":  "ďđð",
	"e":  "èéêëēĕėęě",
	"g":  "ĝğġģ",
	"h":  "ĥħ",
	"i":  "ìíîïĩīĭįı",
	"ij": "ĳ",
	"j":  "ĵ",
	"k":  "ķĸ",
	"l":  "ĺļľŀł",
	"n":  "ñńņňŉŋ",
	"o":  "òóôõöøōŏő",
	"oe": "œ",
	"r":  "ŕŗř",
	"s":  "śŝşšſ",
	"ss": "ß",
	"t":  "ţťŧ",
	"th": "þ",
	"u":  "ùúûüũūŭůűų",
	"w":  "ŵ",
	"y":  "ýÿŷ",
	"z":  "źżž",
}

func buildLatinFolds() map[rune]string {
	folds := make(map[rune]string, 128)
	for replacement, letters := range latinFoldGroups {
		for _, r := range letters {
			folds[r] = replacement
		}
	}
	return folds
}
