"""One step of a ladder (seed x rung x kind) and its id, shared by the runner and the report."""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # spec imports slug from here to refuse clashing ids at load
    from tricks_mm.ladder.spec import Rung


def slug(name: str) -> str:
    """A rung name as a directory name (and step id part): letters and digits, ``-`` between."""
    return re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-').lower()


@dataclass
class Step:
    seed: int
    rung: 'Rung'
    kind: str

    @property
    def step_id(self) -> str:
        return f'seed{self.seed}-{slug(self.rung.name)}-{self.kind}'
