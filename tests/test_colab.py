"""The Colab path, short of Colab itself: a fresh Python environment with only what Colab preinstalls
(torch, a Jupyter kernel), the set-up cell forced on, the course repository given as a local path.
The set-up cell must clone the published course, install it, and the notebook must then run."""
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import Course
from autograder.publish import publish
from autograder.release import colab_setup_cell
from autograder.sample_class import build_sample_class

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_types"
# What a Colab runtime already has; the set-up cell must install everything else.
COLAB_PREINSTALLED = ["torch==2.13.0", "ipykernel", "nbclient"]


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_setup_cell_installs_the_course_in_a_fresh_environment(tmp_path):
    course = Course()
    # The public repository: the published student tree, committed.
    public = publish(course, tmp_path / "public")
    run(["git", "init", "-q", "-b", "main"], cwd=public)
    run(["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "add", "-A"], cwd=public)
    run(["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-qm", "student release"], cwd=public)

    # A student's solved notebook, its set-up cell pointing at that repository.
    submitted = build_sample_class(Course(work=tmp_path / "grading"), ASSIGNMENT)
    notebook = course.notebooks(ASSIGNMENT)[0]
    nb = nbformat.read(submitted / "alice" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    assert nb.cells[0].id == "colab-setup"
    nb.cells[0] = colab_setup_cell(str(public))
    content = tmp_path / "content"  # Colab's working folder
    content.mkdir()
    nbformat.write(nb, content / f"{notebook}.ipynb")

    venv = tmp_path / "colab-venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", *COLAB_PREINSTALLED])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(COURSE_SETUP="force", COURSE_DIR=str(content / "embeddings-course"), HF_HUB_OFFLINE="1",
               PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    proc = subprocess.run([venv / "bin" / "jupyter-execute", "--inplace", f"{notebook}.ipynb"],
                          cwd=content, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"the notebook failed after the set-up cell:\n{proc.stderr[-4000:]}"
    assert (content / "embeddings-course" / "embedkit" / "__init__.py").is_file(), "the set-up cell did not clone the course"
    executed = nbformat.read(content / f"{notebook}.ipynb", as_version=4)
    errors = [c.id for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells failed in the fresh environment: {errors}"
