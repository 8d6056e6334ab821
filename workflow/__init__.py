"""bondtrack: track every person covered by a court-ordered mass release, against the deadline."""

import importlib
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path
from types import ModuleType

__version__ = "0.1.0"

# Names stored outside the code that must keep loading after a module moves: the scheduler's
# job store holds ``workflow.scheduler:job`` and Prefect deployments ``workflow.flows.sweep``.
MOVED = {
    "workflow.flows": "workflow.runners.flows",
    "workflow.scheduler": "workflow.runners.scheduler",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with the module at its new place (the same object)."""

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module at its new place ran when it was imported."""


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def resource(*parts: str) -> Path:
    """Path of a shipped resource (config/, templates/, migrations/, alembic.ini).

    An editable checkout reads them from the project root; a built wheel carries
    them under ``workflow/_data``.
    """
    here = Path(__file__).resolve().parent
    packaged = here.joinpath("_data", *parts)
    return packaged if packaged.exists() else here.parent.joinpath(*parts)
