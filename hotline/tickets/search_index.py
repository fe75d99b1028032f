"""The indexes that serve search (issue 9, point 4): Chinese substrings of requests and enterprise names.

What is searched: a request's number, title, description and contact phone (one *document*, the four joined
by line breaks: a search term never holds a line break, so no match spans two fields), and the name of its
enterprise.  Trigram indexes serve any substring of three characters or more; two-character terms (many
Chinese words: 停车, 社保) need a path of their own on each database (which path a term takes is
:mod:`hotline.tickets.search`'s choice: on PostgreSQL, Chinese words go by their pairs whatever their length):

- PostgreSQL: ``pg_trgm`` (a trusted extension since PostgreSQL 13, so the database's owner may create it)
  with GIN ``gin_trgm_ops`` indexes over the document expression (:func:`ticket_document`) and over
  ``enterprises.name``, used by ``ILIKE '%term%'``; it builds trigrams of Chinese text in a ``C.UTF-8``
  cluster (tests/integration/test_search_postgres.py checks it).  Two-character terms: a GIN index over
  ``hotline_bigrams(document)``, the lower-cased two-character substrings of the document as a
  ``text[]`` (an IMMUTABLE SQL function: nothing is stored besides the index, and no code has to fill it),
  used by ``hotline_bigrams(document) @> ARRAY['停车']``.  The query must use the very expression the index
  was built on: :func:`ticket_document` makes it for both.
- SQLite (the embedded default, 3.40): a contentless FTS5 table ``<table>_search`` with
  ``tokenize='trigram'`` whose rowid is the row's id, kept in step by triggers on the table, and an
  ``fts5vocab`` table over it.  A term of three characters or more is a phrase ``MATCH``; FTS5 answers no
  term under three characters, so each field is indexed followed by a line break (every two characters of
  the text then begin some trigram of the index) and a two-character term matches the trigrams that begin
  with it, read from the vocabulary (a range of its sorted terms): ``"停车位" OR "停车费" OR …``.

Two paths create all of it, and they must agree (tests/integration/test_migrations.py compares them):
``db.create_all()`` (the tests, a first start), through the DDL events :func:`install` hangs on the tables,
and migrations ``0008_search`` (which indexes the rows already there) and ``0009_faster_bigrams``, which hold
copies of these statements (a revision describes the schema as of that revision).
"""

from __future__ import annotations

import re

from sqlalchemy import DDL, ColumnElement, Index, Table, event, func, literal_column
from sqlalchemy.sql.elements import ColumnClause

# Between the fields of a document: no search term holds a line break (terms are split on white space).  A
# literal in the SQL, not a bound parameter: the query's expression must be the index's, in generic plans too.
SEPARATOR: ColumnElement[str] = literal_column("E'\\n'")
BIGRAMS = "hotline_bigrams"

POSTGRESQL_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
# The pairs of a text in linear time, without calling anything per character: the pairs that begin at odd
# positions and those that begin at even ones, each pass one regexp_replace that ends every pair with a \x1f
# (a lone last character leaves an empty element, removed), split at the \x1f.  (The text of requests and of
# enterprise names holds no control character but the line break: hotline.text refuses them.)  substr(d, i,
# 2) for every i, as revision 0008 had it, is quadratic on UTF-8 text: 115 µs for a request of 150
# characters, against 20 µs here, paid on every insert and every update of a request that is not HOT, and
# on every row a bitmap scan rechecks.  STRICT: NULL in, NULL out; an empty array for a text under two
# characters.  Duplicates are left in (GIN keeps each key once).  COST: so that the planner would rather
# read the index than call it on every row it walks (a query pairs it with a cheap exact test,
# :mod:`hotline.tickets.search`).
POSTGRESQL_BIGRAMS = f"""\
CREATE OR REPLACE FUNCTION {BIGRAMS}(document text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
SELECT array_remove(
    string_to_array(regexp_replace(lower(document), '(..)|.', E'\\\\1\\x1f', 'g'), E'\\x1f')
    || string_to_array(regexp_replace(substr(lower(document), 2), '(..)|.', E'\\\\1\\x1f', 'g'), E'\\x1f'),
    '')
$$"""

# The PostgreSQL indexes of :func:`postgresql_indexes`, by the prefixes the models give them.
SEARCH_INDEXES = frozenset(
    f"{prefix}_{kind}"
    for prefix in ("ix_tickets_search", "ix_enterprises_name")
    for kind in ("trgm", "bigrams")
)

# The fields of each searched table, in document order.
TICKET_FIELDS = ("number", "title", "description", "contact_phone")
ENTERPRISE_FIELDS = ("name",)


def ticket_document(columns: dict[str, ColumnClause[str]] | object) -> ColumnElement[str]:
    """``number || E'\\n' || title || E'\\n' || description || E'\\n' || contact_phone``, from the columns of
    ``tickets`` (``Ticket.__table__.c``): the expression of the PostgreSQL indexes and of the queries."""
    parts = [getattr(columns, name) for name in TICKET_FIELDS]
    document: ColumnElement[str] = parts[0]
    for part in parts[1:]:
        document = document.op("||")(SEPARATOR).op("||")(part)
    return document


def bigrams(document: ColumnElement[str]) -> ColumnElement[list[str]]:
    return func.hotline_bigrams(document)


def postgresql_indexes(document: ColumnElement[str], prefix: str) -> list[Index]:
    """The trigram and the bigram GIN indexes over ``document`` (of one table's columns, which they join),
    created on PostgreSQL only."""
    trigrams = Index(
        f"{prefix}_trgm",
        document.label("document"),
        postgresql_using="gin",
        postgresql_ops={"document": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
    pairs = Index(f"{prefix}_bigrams", bigrams(document), postgresql_using="gin").ddl_if(dialect="postgresql")
    return [trigrams, pairs]


# --------------------------------------------------------------------------- SQLite


def fts_table(table: str) -> str:
    return f"{table}_search"


def vocab_table(table: str) -> str:
    return f"{table}_search_vocab"


def sqlite_document(fields: tuple[str, ...], row: str) -> str:
    """The SQL of a row's indexed text in a trigger (``row`` is ``new`` or ``old``): each field followed
    by a line break, so that the last two characters of a field begin a trigram too."""
    return " || ".join(f"{row}.{name} || char(10)" for name in fields)


def sqlite_create(table: str, fields: tuple[str, ...]) -> list[str]:
    """The FTS5 table, its vocabulary and the triggers that keep it in step with ``table``."""
    fts, new, old = fts_table(table), sqlite_document(fields, "new"), sqlite_document(fields, "old")
    insert = f"INSERT INTO {fts}(rowid, document) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, document) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(document, content='', tokenize='trigram')",
        f"CREATE VIRTUAL TABLE {vocab_table(table)} USING fts5vocab({fts}, 'row')",
        f"CREATE TRIGGER trg_{table}_search_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER trg_{table}_search_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER trg_{table}_search_update AFTER UPDATE OF {', '.join(fields)} ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


def sqlite_drop(table: str) -> list[str]:
    """Dropping ``table`` drops its triggers; the FTS5 tables are dropped first."""
    return [f"DROP TABLE IF EXISTS {vocab_table(table)}", f"DROP TABLE IF EXISTS {fts_table(table)}"]


def _ddl(statement: str, dialect: str) -> DDL:
    # DDL() applies %-formatting: a literal % is doubled.
    return DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)


def install(table: Table, fields: tuple[str, ...]) -> None:
    """Create what search needs of ``table`` whenever ``create_all`` or ``table.create()`` creates it:
    on PostgreSQL the extension and the function before the table (its indexes are
    :func:`postgresql_indexes`, part of the table), on SQLite the FTS5 tables and triggers after it.

    Idempotent: installing the same table twice adds no second listener.
    """
    if table.info.get("search_index"):
        return
    table.info["search_index"] = True
    for statement in (POSTGRESQL_EXTENSION, POSTGRESQL_BIGRAMS):
        event.listen(table, "before_create", _ddl(statement, "postgresql"))
    for statement in sqlite_create(table.name, fields):
        event.listen(table, "after_create", _ddl(statement, "sqlite"))
    for statement in sqlite_drop(table.name):
        event.listen(table, "before_drop", _ddl(statement, "sqlite"))


_SQLITE_SEARCH_TABLE = re.compile(r"^(?:tickets|enterprises)_search(?:_\w+)?$")


def is_sqlite_search_table(name: str | None) -> bool:
    """Whether ``name`` is one of the FTS5 tables above or a table FTS5 keeps for one (``…_data``, ``…_idx``):
    made by DDL events, not in the metadata, so Alembic's autogenerate must leave them alone."""
    return name is not None and _SQLITE_SEARCH_TABLE.match(name) is not None


def autogenerate_include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook (migrations/env.py, tests/integration/test_migrations.py)."""
    return not (type_ == "table" and is_sqlite_search_table(name))


# Every index over an expression, which autogenerate cannot compare: the search indexes and the number's
# byte-order btree (hotline/tickets/models.py, migration 0019).
EXPRESSION_INDEXES = SEARCH_INDEXES | {"ix_tickets_number_c"}


def autogenerate_include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object`` hook: the search indexes are expressions that Alembic renders differently
    from what PostgreSQL reflects (and SQLite cannot reflect at all); migration 0008 creates them, and
    tests/integration/test_migrations.py compares their definitions with those ``create_all`` makes."""
    return not (type_ == "index" and name is not None and name in EXPRESSION_INDEXES)
