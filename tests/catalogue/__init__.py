"""Catalogues of realistic wrong answers, one module per exercise (``<id>.py`` with ``MISTAKES``).

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail. ``hint``, when given, is a phrase that the message of
the hidden check of ``replaces`` must contain (case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    id: str
    replaces: str
    description: str
    code: str
    expect: tuple[str, ...]
    hint: str | None = None
