"""Alembic environment: the engine comes from zhongtai.meta.db, never from an ini file.

SQLite alters a table by rebuilding it (copy, drop the old, rename). With foreign keys enforced, dropping
the old copy would cascade into the tables referring to it (a dataset's versions and fields), so they are
off while migrating, checked afterwards, and back on before the connection returns to the pool.
"""

from alembic import context

from zhongtai.meta.tables import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
        connection.commit()
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows referring to missing rows: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
