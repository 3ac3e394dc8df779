"""Apply and check schema migrations (Alembic) from inside esimdesk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from app.errors import DeskError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions (a test keeps the two in step).
# Opening a desk that is already at this revision needs no Alembic import,
# which keeps it off the console's path to the first frame.
HEAD_REVISION = "0030"
NOT_OURS = "the database has tables but no esimdesk schema version; is it another program's database? (restore a backup: esimdesk restore PATH)"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise DeskError(f"migrations have {len(heads)} heads; expected one")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.execution_options(esimdesk_read_only=True).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to `revision`; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    if before is None and inspect(engine).get_table_names():
        raise DeskError(NOT_OURS)
    _check_known(before)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine) or ""


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        raise DeskError(
            f"the database schema ({revision}) is newer than this esimdesk knows ({head_revision()}); update esimdesk"
        ) from None


def ensure_schema(engine: Engine) -> None:
    """Migrate a brand-new database; refuse one that is older or newer than the code."""
    if _stamped(engine) == HEAD_REVISION:
        return
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        if inspect(engine).get_table_names():
            raise DeskError(NOT_OURS)
        upgrade(engine)
        return
    _check_known(current)
    raise DeskError(f"the database schema ({current}) is older than this esimdesk ({head}); run: esimdesk db upgrade")


def _stamped(engine: Engine) -> str | None:
    """The revision recorded in alembic_version, read with plain SQL (None if absent)."""
    try:
        with engine.execution_options(esimdesk_read_only=True).connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no such table yet: a new database
        return None
