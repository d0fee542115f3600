"""nbgrader configuration for this course (read by every nbgrader command run here).

solutions/ is nbgrader's source, notebooks/ its release; everything grading
produces (submissions, autograded copies, feedback, the gradebook) lives under
the git-ignored grading/ folder.
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "embeddings"
c.CourseDirectory.root = here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.solution_directory = os.path.join("grading", "solution")
# The gradebook: $DB_URL, else the first line of the file $DB_URL_FILE names (chmod 600; how a URL with a
# password reaches `nbgrader export` and the formgrader without a command line), else SQLite in grading/.
if os.environ.get("DB_URL"):
    c.CourseDirectory.db_url = os.environ["DB_URL"]
elif os.environ.get("DB_URL_FILE"):
    with open(os.environ["DB_URL_FILE"]) as f:
        c.CourseDirectory.db_url = f.read().strip().splitlines()[0]
else:
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "grading", "gradebook.db")

# One machine: the exchange (release, fetch, submit from JupyterLab) lives in grading/ too.
c.Exchange.root = os.path.join(here, "grading", "exchange")

# The grader's own settings (autograder/settings.py lists them all, with their environment overrides).
c.Grading.jobs = 2
c.Grading.cell_timeout = 300.0  # loading transformer models takes longer than nbgrader's 30 s default
c.Execute.timeout = int(c.Grading.cell_timeout)  # stock nbgrader (make bench-grade) gets the same limit
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Instructor-only files beside each source notebook never reach the release: the notebooks' text sources
# (<notebook>.py, jupytext py:percent, solutions included) and the mutation catalogue (mutants.py).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]
