"""JupyterLab in a real browser (headless Chromium driven by Playwright): a student notebook runs and its
plotly figures render, and the formgrader lists the course's assignments. Screenshots go to test-artifacts/."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.course import REPO, Course
from autograder.sample_class import build_sample_class

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"
ASSIGNMENT = "01_types"
TOKEN = "course-browser-test"

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"),
                                reason="needs Debian's chromium (make test installs it); required in CI")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on localhost over a scratch copy of the course, with alice's solved notebook in it."""
    root = tmp_path_factory.mktemp("lab")
    for name in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copy2(REPO / name, root / name)
    for name in ("solutions", "notebooks"):
        shutil.copytree(REPO / name, root / name)
    course = Course(root)
    build_sample_class(course, ASSIGNMENT)
    notebook = course.notebooks(ASSIGNMENT)[0]
    shutil.copy2(course.submitted / "alice" / ASSIGNMENT / f"{notebook}.ipynb", root / "student.ipynb")
    # Render every cell: JupyterLab 4 only renders the cells on screen by default.
    settings = root / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JUPYTERLAB_SETTINGS_DIR": str(root / "lab-settings"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # as `make lab` sets it
    (root / "grading" / "exchange").mkdir(parents=True, exist_ok=True)
    env.pop("EMBEDKIT_QUIET", None)
    log = open(root / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start:\n" + (root / "jupyter.log").read_text()[-3000:])
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is not installed: run `make test` (it installs Debian's chromium) or apt-get install chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def test_student_notebook_runs_and_plotly_renders(lab, page):
    page.goto(f"{lab}/lab/tree/student.ipynb?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus", timeout=120_000)
    page.click("#jp-MainMenu >> text=Run")
    page.click(".lm-Menu-content >> text=Run All Cells")
    # Wait until the last code cell has run: every code cell then shows an execution count.
    try:
        page.wait_for_function(
            """() => { const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                       return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
            timeout=600_000, polling=2000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "lab-student-notebook-end.png"), full_page=True)
    plots = page.locator(".js-plotly-plot")
    assert plots.count() >= 3, f"expected the notebook's plotly figures to render, found {plots.count()}"
    plots.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "lab-student-notebook.png"))
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"{errors.count()} cells printed errors: {errors.first.inner_text()[:500]}"


def test_formgrader_lists_the_assignments(lab, page):
    page.goto(f"{lab}/formgrader?token={TOKEN}")
    page.wait_for_selector(f"text={ASSIGNMENT}", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "formgrader-assignments.png"))
    for assignment in Course().assignments():
        assert page.locator(f"text={assignment}").count() >= 1, f"formgrader does not list {assignment}"
