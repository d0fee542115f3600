"""Mutation catalogue of 02_creating: plausible wrong answers (MUTANTS) and correct alternatives."""
from autograder.mutants import alternative, mutant

MUTANTS = [
    mutant("vocab", "min_count compared with >", replace=[("if c >= min_count", "if c > min_count")]),
]
ALTERNATIVES = []
