"""The migrations, run on an empty database, build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db

from .helpers import scratch_database


@pytest.fixture()
def empty_database_url(database_url, tmp_path):
    with scratch_database(database_url, tmp_path, "migrations") as url:
        yield url


# SQLite's reflection can't read expression indexes; the test checks that one by hand below.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
def test_migrations_match_models(empty_database_url):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = empty_database_url

    app = create_app(Config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == []
        assert "uq_users_email_lower" in _index_names(db.engine)
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def _index_names(engine) -> set[str]:
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes"
    )
    with engine.connect() as conn:
        return set(conn.scalars(text(query)))
