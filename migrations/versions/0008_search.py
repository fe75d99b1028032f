"""search: indexes over requests and enterprise names that serve Chinese substrings

PostgreSQL: the pg_trgm extension, the function hotline_bigrams(text) (the distinct lower-cased
two-character substrings of a text, as text[]), and GIN indexes: trigram and bigram over the document of a
request (number, title, description, contact phone joined by line breaks) and over enterprises.name.
SQLite: a contentless FTS5 table with the trigram tokenizer and an fts5vocab table over it for tickets and
for enterprises, kept in step by triggers, and filled here with the rows already there.

The statements are a copy of hotline/tickets/search_index.py as of this revision, which is what create_all
uses (a revision must keep creating what it created when the module changes later).
tests/integration/test_migrations.py checks that both agree.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-15 10:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FIELDS = {"tickets": ("number", "title", "description", "contact_phone"), "enterprises": ("name",)}
TICKET_DOCUMENT = "number || E'\\n' || title || E'\\n' || description || E'\\n' || contact_phone"
DOCUMENTS = {"tickets": ("ix_tickets_search", TICKET_DOCUMENT), "enterprises": ("ix_enterprises_name", "name")}

POSTGRESQL_BIGRAMS = """\
CREATE OR REPLACE FUNCTION hotline_bigrams(document text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
SELECT coalesce(array_agg(substr(d, i, 2)), '{}')
FROM (SELECT lower(document) AS d) AS lowered, generate_series(1, length(d) - 1) AS i
$$"""


def _document(table, row):
    return " || ".join(f"{row}.{name} || char(10)" for name in FIELDS[table])


def _sqlite_upgrade(table):
    fts, new, old = f"{table}_search", _document(table, "new"), _document(table, "old")
    insert = f"INSERT INTO {fts}(rowid, document) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, document) VALUES ('delete', old.id, {old});"
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(document, content='', tokenize='trigram')")
    op.execute(f"CREATE VIRTUAL TABLE {table}_search_vocab USING fts5vocab({fts}, 'row')")
    op.execute(f"CREATE TRIGGER trg_{table}_search_insert AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER trg_{table}_search_delete AFTER DELETE ON {table} BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER trg_{table}_search_update AFTER UPDATE OF {', '.join(FIELDS[table])} ON {table} "
        f"BEGIN {delete} {insert} END"
    )
    # the rows already there (the triggers index those written from now on)
    op.execute(f"INSERT INTO {fts}(rowid, document) SELECT id, {_document(table, table)} FROM {table}")


def upgrade():
    dialect = op.get_context().dialect.name  # also in offline (--sql) mode
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(POSTGRESQL_BIGRAMS)
        for table, (prefix, document) in DOCUMENTS.items():
            # building a GIN index reads the rows already there: they are indexed by this revision
            op.execute(f"CREATE INDEX {prefix}_trgm ON {table} USING gin (({document}) gin_trgm_ops)")
            op.execute(f"CREATE INDEX {prefix}_bigrams ON {table} USING gin (hotline_bigrams({document}))")
    elif dialect == "sqlite":
        for table in FIELDS:
            _sqlite_upgrade(table)
    else:
        raise NotImplementedError(f"search indexes are written for PostgreSQL and SQLite, not {dialect}")


def downgrade():
    dialect = op.get_context().dialect.name  # also in offline (--sql) mode
    if dialect == "postgresql":
        for table, (prefix, _) in DOCUMENTS.items():
            op.execute(f"DROP INDEX IF EXISTS {prefix}_bigrams")
            op.execute(f"DROP INDEX IF EXISTS {prefix}_trgm")
        op.execute("DROP FUNCTION IF EXISTS hotline_bigrams(text)")
        # pg_trgm stays: another schema object may use it, and it is harmless (DROP EXTENSION by hand)
    else:
        for table in FIELDS:
            for operation in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_search_{operation}")
            op.execute(f"DROP TABLE IF EXISTS {table}_search_vocab")
            op.execute(f"DROP TABLE IF EXISTS {table}_search")
