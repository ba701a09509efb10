"""Full-text search over items' title, summary and article text, in English, Korean and Russian alike.

Trigrams, not words: SQLite's FTS5 ``trigram`` tokenizer (the ``items_fts`` table, kept in step with
``items`` by triggers) and PostgreSQL's ``pg_trgm`` GIN index on ``title || ' ' || summary || ' ' || text``
(searched with ILIKE) both need no word splitting, so Korean (particles glued to nouns) and Russian
(inflections: "Путин" finds "Путина") work as English does. A term matches as a case-insensitive
substring: "kim" also finds "Kimchi", the price of needing no language's tokenizer.

The query language is small on purpose: words and "quoted phrases", all of which must appear. Words that
name one of the beat's people (``newswatch.actors.spellings_of``: "Putin", "Kim Jong Un", "Шойгу", "김정은")
also match the other scripts' spellings of that person ("푸틴", "뿌찐", "Путин"), so a search in one language
finds the Korean, Russian and English reports alike; a quoted phrase matches only as written. What the
user typed never reaches FTS5 syntax raw: each pattern becomes one quoted FTS5 string (or an escaped LIKE
pattern). A term shorter than three characters (북한) has no trigram to look up: beside a longer term it only
narrows what that one found; alone it is a substring scan, newest first, which stops as soon as a page is
full (quick for a common term, slow for a rare one over a big store). A person's two-syllable name (푸틴) is
looked for with what follows it instead (``_AFTER_A_KOREAN_NAME``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..actors import NAME_WORDS, spellings_of
from .schema import items

MAX_QUERY = 200
"""Characters in one search (a longer one is a paste gone wrong, and costs the database)."""
MIN_TRIGRAM_TERM = 3
_TERM = re.compile(r'"([^"]*)"?|(\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SearchError(ValueError):
    """A search the store cannot run (empty, too long, control characters); the message says which."""


@dataclass(frozen=True)
class Term:
    """A word, a "quoted phrase" or a person's name of a search: the ways it is written, the text as typed first."""

    text: str
    spellings: tuple[str, ...]

    def patterns(self, dialect: str) -> tuple[str, ...]:
        """The substrings an item must hold one of: the text as typed; for a person's name, each of its spellings
        as ``_name_patterns`` writes it for ``dialect`` (the one typed too: "조현" alone would be a scan of every
        item, 2 s over a million where it occurs nowhere, and 12 s with the other spellings beside it)."""
        if not self.also:
            return (self.text,)
        beside = _AFTER_A_KOREAN_NAME_ON_POSTGRESQL if dialect == "postgresql" else _AFTER_A_KOREAN_NAME
        patterns = tuple(pattern for spelling in self.spellings for pattern in _name_patterns(spelling, beside))
        # one that holds another finds nothing more ("Vladimir Putin" beside "putin"), and costs PostgreSQL's plan
        folded = [pattern.casefold() for pattern in patterns]
        return tuple(pattern for pattern, own in zip(patterns, folded)
                     if not any(other != own and other in own for other in folded))

    @property
    def indexed(self) -> bool:
        """Whether SQLite's trigram index can find it: every pattern has a trigram."""
        return all(len(pattern) >= MIN_TRIGRAM_TERM for pattern in self.patterns("sqlite"))

    @property
    def also(self) -> tuple[str, ...]:
        """The spellings besides the one typed: what a search should say it looked for too."""
        return self.spellings[1:]


# What follows a Korean name in running text: a space, a particle, "대" of 대통령 written onto it, punctuation.
# A name of two syllables (푸틴, 조현, 왕이) has no trigram, so a search for the person would scan every item for
# it (7 s over a million for "Wang Yi", where it occurs nowhere); with one of these beside it, or a space before
# it, it has. The price: "푸틴식" at the start of a title is not found as "Putin" or "푸틴" (nor "Ван И" at the
# start of one as "Wang Yi"); quoted, "푸틴" is a plain substring again.
_AFTER_A_KOREAN_NAME = tuple(" 은는이가을를의와과에도측대,.·'\"”’)」]…")
# PostgreSQL searches title, summary and text as one string, so a space precedes every name but the title's first;
# and it estimates an OR of ILIKEs as the sum of its patterns (1 item in 10,000 each, for a pattern it has no
# statistics for): with the 28 patterns of "Wang Yi" a name found nowhere looked common and every item was read
# (28 s over 200,000), where its 5 patterns take 5 ms, and 6 patterns already 5.6 s. So there only the space before:
# a Korean title that opens with the name ("푸틴, 北에…") is not found by "Putin" there. A test keeps every person of
# the table at MAX_PATTERNS_ON_POSTGRESQL.
_AFTER_A_KOREAN_NAME_ON_POSTGRESQL: tuple[str, ...] = ()
MAX_PATTERNS_ON_POSTGRESQL = 5


def search_terms(text: str) -> tuple[Term, ...]:
    """The terms of a search, in order (an unclosed quote runs to the end): each quoted phrase, each run of
    unquoted words that names a person of the beat (the longest), each other word."""
    if len(text) > MAX_QUERY:
        raise SearchError(f"search text is limited to {MAX_QUERY} characters, got {len(text)}")
    if _CONTROL.search(text):  # PostgreSQL refuses a NUL in text outright
        raise SearchError("search text must not contain control characters")
    parts = [(" ".join((match[1] if quoted else match[2]).split()), quoted)
             for match in _TERM.finditer(text) for quoted in [match[1] is not None]]
    parts = [(part, quoted) for part, quoted in parts if part]
    terms: dict[str, Term] = {}
    start = 0
    while start < len(parts):
        length, spellings = 1, ()
        for words in range(min(NAME_WORDS, len(parts) - start), 0, -1):
            run = parts[start:start + words]
            if not any(quoted for _, quoted in run) and (named := spellings_of(" ".join(part for part, _ in run))):
                length, spellings = words, named
                break
        typed = " ".join(part for part, _ in parts[start:start + length])
        terms.setdefault(typed, Term(typed, _written(typed, spellings)))
        start += length
    if not terms:
        raise SearchError(f"nothing to search for in {text!r}")
    return tuple(terms.values())


def _written(typed: str, spellings: tuple[str, ...]) -> tuple[str, ...]:
    """``typed`` and a person's spellings, each once whatever its case, with the hyphen Latin copy often
    writes in a Korean given name ("Kim Jong-un", "Lee Jae-myung") where the table has spaces."""
    hyphenated = [" ".join([*words[:-2], "-".join(words[-2:])]) for spelling in spellings
                  for words in [spelling.split()] if len(words) >= 3 and spelling.isascii()]
    written: dict[str, str] = {}
    for spelling in (typed, *spellings, *hyphenated):
        written.setdefault(spelling.casefold(), spelling)
    return tuple(written.values())


def _name_patterns(spelling: str, beside: tuple[str, ...]) -> tuple[str, ...]:
    """The substrings that find one spelling of a person's name: itself; a two-syllable Korean name with what
    may follow it (``beside``) or a space before; a Latin or Cyrillic name with a word of one letter ("ван и")
    at a word's start, where it is no word's ending ("организован и")."""
    if "가" <= spelling[0] <= "힣":
        if len(spelling) >= MIN_TRIGRAM_TERM:
            return (spelling,)
        return (*(spelling + after for after in beside), " " + spelling)
    return (" " + spelling,) if min(map(len, spelling.split())) == 1 else (spelling,)


FTS = sa.table("items_fts", sa.column("rowid"))
"""SQLite's trigram index of items (revision 0006); its rowid is the item's id."""


def searched(source: sa.FromClause, text: str, dialect: str) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]]:
    """``source`` (a join that holds ``items``) narrowed to the items whose title, summary or text holds every
    term of ``text``: the FROM clause to use and the conditions to add.

    On SQLite the trigram table joins in, so that FTS5 drives the query: it hands out matches newest first
    (see ``newest_first``) and a first page stops after a page's worth, however common the term.
    """
    terms = search_terms(text)
    if dialect == "postgresql":
        return source, [_on_postgresql(term) for term in terms]
    conditions = []
    indexed = [term for term in terms if term.indexed]
    if indexed:
        source = source.join(FTS, FTS.c.rowid == items.c.id)
        conditions.append(sa.literal_column("items_fts").op("MATCH")(" AND ".join(_fts_any(t) for t in indexed)))
    for term in terms:
        if not term.indexed:
            # SQLite's LIKE folds ASCII case only: try the cased spellings of a Cyrillic term as well
            cased = dict.fromkeys(case for pattern in term.patterns(dialect)
                                  for case in (pattern, pattern.lower(), pattern.upper(), pattern.capitalize()))
            conditions.append(sa.or_(*(column.contains(spelling, autoescape=True) for spelling in cased
                                       for column in (items.c.title, items.c.summary, items.c.text))))
    return source, conditions


def newest_first(text: str | None, dialect: str) -> sa.ColumnElement[int]:
    """The item id to order by (descending) in a query made with ``searched``: the trigram table's own
    rowid when it drives the query (FTS5 then needs no sort), else the item's."""
    if text and dialect != "postgresql" and any(term.indexed for term in search_terms(text)):
        return FTS.c.rowid
    return items.c.id


NAME_MATCHES_ON_POSTGRESQL = 10_000
"""How many of a person's newest matches a PostgreSQL search reads (see ``_on_postgresql``)."""


def _on_postgresql(term: Term) -> sa.ColumnElement[bool]:
    """The term's condition on PostgreSQL: its document holds one of the term's patterns.

    A person's several patterns are looked up among that person's newest NAME_MATCHES_ON_POSTGRESQL matches:
    asked for the newest page of items holding any of several patterns, PostgreSQL walks every item newest
    first when the name occurs nowhere (it takes each pattern to match 1 item in 10,000 and their sum for
    common enough to meet a page soon: 3 s over 200,000 items), and through the index it would read every
    match of a common name before the newest (2.5 s for one in a third of the items). A bounded set of the
    newest is planned well either way: the index for a rare name, the newest items for a common one."""
    def holds_one(table: sa.FromClause) -> sa.ColumnElement[bool]:
        return sa.or_(*(_document(table).ilike(f"%{_like_escaped(pattern)}%", escape="/")
                        for pattern in term.patterns("postgresql")))

    if not term.also:
        return holds_one(items)
    named = items.alias("named")
    return items.c.id.in_(sa.select(named.c.id).where(holds_one(named)).order_by(named.c.id.desc())
                          .limit(NAME_MATCHES_ON_POSTGRESQL))


def _document(table: sa.FromClause) -> sa.ColumnElement[str]:
    """PostgreSQL: the indexed expression of revision 0006, with literal separators (a bound ' ' would
    not match the index's expression)."""
    space = sa.literal_column("' '")
    return table.c.title.op("||")(space).op("||")(table.c.summary).op("||")(space).op("||")(table.c.text)


def _fts_any(term: Term) -> str:
    """The FTS5 query that finds any of the term's spellings."""
    strings = [_fts_string(pattern) for pattern in term.patterns("sqlite")]
    return strings[0] if len(strings) == 1 else "(" + " OR ".join(strings) + ")"


def _fts_string(term: str) -> str:
    """One FTS5 string: inside double quotes every character is literal (a quote is doubled)."""
    return '"' + term.replace('"', '""') + '"'


def _like_escaped(term: str) -> str:
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")

