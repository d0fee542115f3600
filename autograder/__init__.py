"""Batch grading of the course notebooks on top of nbgrader."""
