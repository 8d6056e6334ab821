"""bondtrack: track every person covered by a court-ordered mass release, against the deadline."""

from pathlib import Path

__version__ = "0.1.0"


def resource(*parts: str) -> Path:
    """Path of a shipped resource (config/, templates/, migrations/, alembic.ini).

    An editable checkout reads them from the project root; a built wheel carries
    them under ``workflow/_data``.
    """
    here = Path(__file__).resolve().parent
    packaged = here.joinpath("_data", *parts)
    return packaged if packaged.exists() else here.parent.joinpath(*parts)
