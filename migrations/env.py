"""Alembic environment: bondtrack's metadata, batch mode on SQLite, only our tables."""

from alembic import context

from workflow.record.schema import metadata as target_metadata


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    # Tables that are not ours (APScheduler's job store) are not Alembic's business.
    return type_ != "table" or name in target_metadata.tables


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("bondtrack migrations run online only: use `bondtrack init`")

connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from workflow.core import config
    from workflow.record import db

    database = db.connect(config.load())
    with database.engine.begin() as conn:
        run(conn)
