"""search: hotline_bigrams() in linear time

The function behind the bigram GIN indexes of revision 0008 took ``substr(d, i, 2)`` for every position of
the text, which is quadratic on UTF-8 text (115 µs for a request of 150 characters, paid on every insert, on
every update of a request that is not HOT, and on every row a bitmap scan rechecks).  This revision replaces
it with one that returns the same pairs (the same multiset: every two-character substring, lower-cased) in
linear time: the pairs beginning at odd positions and those beginning at even ones, each pass a
``regexp_replace`` that ends every pair with a \\x1f, split at it.  The two differ only on a text holding a
\\x1f itself (the pairs around it), which no request holds (control characters are refused) and no search
term can (they are read as spaces).  The indexes stay valid (each row's set of keys is the same) and are not
rebuilt.  tests/integration/test_search_postgres.py compares the two
functions over texts of every kind.

The statement is a copy of hotline/tickets/search_index.py as of this revision, which is what create_all
uses; tests/integration/test_migrations.py checks that both agree.  SQLite: nothing to do.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-16 10:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LINEAR = """\
CREATE OR REPLACE FUNCTION hotline_bigrams(document text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
SELECT array_remove(
    string_to_array(regexp_replace(lower(document), '(..)|.', E'\\\\1\\x1f', 'g'), E'\\x1f')
    || string_to_array(regexp_replace(substr(lower(document), 2), '(..)|.', E'\\\\1\\x1f', 'g'), E'\\x1f'),
    '')
$$"""

# As revision 0008 made it.
QUADRATIC = """\
CREATE OR REPLACE FUNCTION hotline_bigrams(document text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
SELECT coalesce(array_agg(substr(d, i, 2)), '{}')
FROM (SELECT lower(document) AS d) AS lowered, generate_series(1, length(d) - 1) AS i
$$"""


def upgrade():
    if op.get_context().dialect.name == "postgresql":  # also in offline (--sql) mode
        op.execute(LINEAR)


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute(QUADRATIC)
