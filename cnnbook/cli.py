"""The ``cnnbook`` command: release student notebooks and autograde submissions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Release cnnbook exercises and autograde submissions.", no_args_is_help=True, add_completion=False)


@app.command()
def release(
    exercise: Optional[list[str]] = typer.Argument(None, help="Exercise ids (e.g. ex06-conv); all when omitted."),
    dest: Path = typer.Option(None, help="Where the student notebooks go (default: exercises/)."),
) -> None:
    """Generate the student notebooks in exercises/ from solutions/ through nbgrader."""
    from .notebooks import EXERCISES, exercise_ids
    from .release import release as do_release

    ids = exercise or exercise_ids()
    for exercise_id in ids:
        out = do_release(exercise_id, dest or EXERCISES)
        typer.echo(f"released {exercise_id} -> {out}")


@app.command()
def grade(
    exercise: str = typer.Argument(..., help="Exercise id, e.g. ex06-conv."),
    submissions: Path = typer.Argument(..., help="Folder of submissions: <student>/<id>.ipynb or <student>.ipynb."),
    out: Path = typer.Option(None, help="Output folder (default: grading/<exercise>)."),
    timeout: int = typer.Option(60, min=1, help="Seconds each cell may run before it is interrupted."),
    jobs: int = typer.Option(0, min=0, help="Submissions graded at once (0: one per core)."),
    force: bool = typer.Option(False, help="Grade again what an earlier run already graded."),
    memory_mb: int = typer.Option(3072, min=256, help="Address-space limit of each kernel, in MiB."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Autograde every submission; write grades.csv and one feedback HTML per student."""
    from .grade import grade as do_grade
    from .sandbox import Limits, layers

    for line in layers().missing:
        typer.echo(f"sandbox layer missing: {line}", err=True)
    out = out or Path("grading") / exercise
    outcomes = do_grade(exercise, submissions, out, timeout=timeout, jobs=jobs or None, force=force,
                        limits=Limits(memory_mb=memory_mb), progress=progress)
    flagged = sum(1 for o in outcomes if o.reasons)
    typer.echo(f"graded {len(outcomes)} submissions of {exercise} ({flagged} flagged) -> {out / 'grades.csv'}")


if __name__ == "__main__":
    app()
