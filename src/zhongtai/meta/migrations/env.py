"""Alembic environment: the engine comes from zhongtai.meta.db, never from an ini file."""

from alembic import context

from zhongtai.meta.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
