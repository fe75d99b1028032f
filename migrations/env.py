import logging
import os
from logging.config import fileConfig

from flask import current_app

from alembic import context
from alembic.runtime.migration import RevisionStep
from alembic.util import CommandError

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# disable_existing_loggers=False: running migrations in-process (tests, `flask db upgrade`) must not silence
# the application's own loggers.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    # Flask-SQLAlchemy 3 (pinned in pyproject.toml): ``db.engine``.  The template's fallback through the
    # deprecated ``db.get_engine()`` raised a DeprecationWarning on every migration (an error under pytest).
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


ALLOW_DESTRUCTIVE = "HOTLINE_ALLOW_DESTRUCTIVE"


def destructive_allowed():
    """``HOTLINE_ALLOW_DESTRUCTIVE=1`` in the environment, or ``flask db downgrade -x allow-destructive``."""
    if os.environ.get(ALLOW_DESTRUCTIVE, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return "allow-destructive" in context.get_x_argument(as_dictionary=True)


def refuse_destructive_steps(migration_context):
    """In production, refuse a plan with a downgrade step before any step runs, unless explicitly allowed.

    A downgrade drops what its revision added — ``flask db downgrade base`` drops every table and every
    request with it.  The check wraps the command's own plan (the steps ``run_migrations`` computes from
    the current heads and then takes one by one) and looks at all of it before the first step, so that a
    refused command changes nothing, on PostgreSQL and SQLite alike.  Alembic has no public hook that runs
    before the steps (``on_version_apply`` runs after each one), hence the wrapped ``_migrations_fn``; if a
    new Alembic lacks it, production refuses every command rather than run one unchecked.  Raising
    ``CommandError`` makes ``flask db …`` print the message and exit with status 1.
    """
    if current_app.config.get("HOTLINE_ENV") != "production" or destructive_allowed():
        return
    plan = getattr(migration_context, "_migrations_fn", None)
    if plan is None:
        raise CommandError(
            f"cannot check this migration for downgrade steps (Alembic changed); set {ALLOW_DESTRUCTIVE}=1 "
            "to run it anyway"
        )

    def checked_plan(heads, ctx):
        steps = list(plan(heads, ctx))
        downgrades = [step for step in steps if isinstance(step, RevisionStep) and not step.is_upgrade]
        if downgrades:
            names = ", ".join(step.short_log for step in downgrades)
            raise CommandError(
                f"refused in production: {len(downgrades)} downgrade step(s) ({names}) would drop tables "
                "or columns and the data in them. Back up first (flask backup); to go ahead, set "
                f"{ALLOW_DESTRUCTIVE}=1 or pass -x allow-destructive."
            )
        return steps

    migration_context._migrations_fn = checked_plan


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    # SQLite's search tables (FTS5) are made by DDL events, not the metadata: autogenerate leaves them alone.
    # Nor does it compare the search indexes (expressions; test_migrations.py compares their definitions).
    from hotline.tickets.search_index import autogenerate_include_name, autogenerate_include_object
    conf_args.setdefault("include_name", autogenerate_include_name)
    conf_args.setdefault("include_object", autogenerate_include_object)

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )
        refuse_destructive_steps(context.get_context())

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
