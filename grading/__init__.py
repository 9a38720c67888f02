"""grading: how good is the map. Every hour the map built before it is checked against what was
really liquidated in it, next to a random ranking (or placebo) and a naive baseline."""

from grading.api import grade_event_file, grade_recorded, grade_totals_file
from grading.report import grade_json, grade_text
from grading.skill import Grade, TooLittleData

__all__ = [
    "Grade",
    "TooLittleData",
    "grade_event_file",
    "grade_json",
    "grade_recorded",
    "grade_text",
    "grade_totals_file",
]
