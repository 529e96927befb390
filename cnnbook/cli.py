"""The ``cnnbook`` command: release student notebooks and autograde submissions."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer


class Engine(str, Enum):
    nbgrader = "nbgrader"
    otter = "otter"


app = typer.Typer(help="Release cnnbook exercises and autograde submissions.", no_args_is_help=True, add_completion=False)


@app.command()
def release(
    exercise: Optional[list[str]] = typer.Argument(None, help="Exercise ids (e.g. ex06-conv); all when omitted."),
    dest: Path = typer.Option(None, help="Where the student notebooks go (default: exercises/)."),
    otter: bool = typer.Option(True, "--otter/--no-otter",
                               help="Also write the otter master notebook and autograder zip into _build/otter/<id>/."),
) -> None:
    """Generate the student notebooks in exercises/ from solutions/ through nbgrader (and otter's files)."""
    from .notebooks import EXERCISES, exercise_ids
    from .release import release as do_release

    ids = exercise or exercise_ids()
    for exercise_id in ids:
        out = do_release(exercise_id, dest or EXERCISES)
        typer.echo(f"released {exercise_id} -> {out}")
        if otter:
            from .otter import assign, autograder_zip

            assign(exercise_id)
            typer.echo(f"otter {exercise_id} -> {autograder_zip(exercise_id)}")


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
    engine: Engine = typer.Option(Engine.nbgrader, help="nbgrader, or otter: `otter run` on the autograder zip "
                                  "of `cnnbook release` (same sandbox, timeout and grades.csv)."),
) -> None:
    """Autograde every submission; write grades.csv and one feedback HTML per student."""
    from .sandbox import Limits, layers

    for line in layers().missing:
        typer.echo(f"sandbox layer missing: {line}", err=True)
    out = out or Path("grading") / exercise
    if engine is Engine.otter:
        from .otter import grade as otter_grade

        outcomes = otter_grade(exercise, submissions, out, timeout=timeout, jobs=jobs or None,
                               limits=Limits(memory_mb=memory_mb), progress=progress)
    else:
        from .grade import grade as do_grade

        outcomes = do_grade(exercise, submissions, out, timeout=timeout, jobs=jobs or None, force=force,
                            limits=Limits(memory_mb=memory_mb), progress=progress)
    flagged = sum(1 for o in outcomes if o.reasons)
    typer.echo(f"graded {len(outcomes)} submissions of {exercise} ({flagged} flagged) -> {out / 'grades.csv'}")


if __name__ == "__main__":
    app()
