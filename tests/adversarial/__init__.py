"""Adversarial corpus for the grading pipeline: a tiny assignment and submissions that attack it."""
