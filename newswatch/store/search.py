"""Full-text search over items' title, summary and article text, in English, Korean and Russian alike.

Trigrams, not words: SQLite's FTS5 ``trigram`` tokenizer (the ``items_fts`` table, kept in step with
``items`` by triggers) and PostgreSQL's ``pg_trgm`` GIN index on ``title || ' ' || summary || ' ' || text``
(searched with ILIKE) both need no word splitting, so Korean (particles glued to nouns) and Russian
(inflections: "Путин" finds "Путина") work as English does. A term matches as a case-insensitive
substring: "kim" also finds "Kimchi", the price of needing no language's tokenizer.

The query language is small on purpose: words and "quoted phrases", all of which must appear. What the
user typed never reaches FTS5 syntax raw: each term becomes one quoted FTS5 string (or an escaped LIKE
pattern). A term shorter than three characters has no trigram to look up: beside a longer term it only
narrows what that one found; alone it is a substring scan, newest first, which stops as soon as a page is
full (quick for a common term, slow for a rare one over a big store).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from .schema import items

MAX_QUERY = 200
"""Characters in one search (a longer one is a paste gone wrong, and costs the database)."""
MIN_TRIGRAM_TERM = 3
_TERM = re.compile(r'"([^"]*)"?|(\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SearchError(ValueError):
    """A search the store cannot run (empty, too long, control characters); the message says which."""


def search_terms(text: str) -> tuple[str, ...]:
    """The words and quoted phrases of a search, in order (an unclosed quote runs to the end)."""
    if len(text) > MAX_QUERY:
        raise SearchError(f"search text is limited to {MAX_QUERY} characters, got {len(text)}")
    if _CONTROL.search(text):  # PostgreSQL refuses a NUL in text outright
        raise SearchError("search text must not contain control characters")
    terms = (" ".join((phrase or word or "").split()) for phrase, word in _TERM.findall(text))
    found = tuple(dict.fromkeys(term for term in terms if term))
    if not found:
        raise SearchError(f"nothing to search for in {text!r}")
    return found


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
        return source, [_document().ilike(f"%{_like_escaped(term)}%", escape="/") for term in terms]
    conditions = []
    indexed = [term for term in terms if len(term) >= MIN_TRIGRAM_TERM]
    if indexed:
        source = source.join(FTS, FTS.c.rowid == items.c.id)
        conditions.append(sa.literal_column("items_fts").op("MATCH")(" AND ".join(_fts_string(t) for t in indexed)))
    for term in terms:
        if len(term) < MIN_TRIGRAM_TERM:
            # SQLite's LIKE folds ASCII case only: try the cased spellings of a Cyrillic term as well
            spellings = dict.fromkeys((term, term.lower(), term.upper(), term.capitalize()))
            conditions.append(sa.or_(*(column.contains(spelling, autoescape=True) for spelling in spellings
                                       for column in (items.c.title, items.c.summary, items.c.text))))
    return source, conditions


def newest_first(text: str | None, dialect: str) -> sa.ColumnElement[int]:
    """The item id to order by (descending) in a query made with ``searched``: the trigram table's own
    rowid when it drives the query (FTS5 then needs no sort), else the item's."""
    if text and dialect != "postgresql" and any(len(t) >= MIN_TRIGRAM_TERM for t in search_terms(text)):
        return FTS.c.rowid
    return items.c.id


def _document() -> sa.ColumnElement[str]:
    """PostgreSQL: the indexed expression of revision 0006, with literal separators (a bound ' ' would
    not match the index's expression)."""
    space = sa.literal_column("' '")
    return items.c.title.op("||")(space).op("||")(items.c.summary).op("||")(space).op("||")(items.c.text)


def _fts_string(term: str) -> str:
    """One FTS5 string: inside double quotes every character is literal (a quote is doubled)."""
    return '"' + term.replace('"', '""') + '"'


def _like_escaped(term: str) -> str:
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")

