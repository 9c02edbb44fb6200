"""C-SSRS screener risk triage by item logic, never a sum.

Source: docs/domain/instruments.md §6.1 (six yes/no questions plus the 6a timing follow-up; Q3-Q5 are asked only
if Q2 = yes, otherwise skip to Q6), §6.2 (triage, evaluated in this order; vendors that sum "yes" answers are
explicitly not followed), §6.3 (actions per level, clinic policy).
"""

from enum import StrEnum

# linkIds of the shipped definition, in answer-list order: Q1..Q6, then 6a (behaviour within the past 3 months).
LINK_IDS = ("1", "2", "3", "4", "5", "6", "6a")


class Risk(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


def triage(q1: bool, q2: bool, q3: bool, q4: bool, q5: bool, q6: bool, q6a: bool) -> Risk:
    """instruments.md §6.2, line by line."""
    if q4 or q5:
        return Risk.HIGH
    if q6 and q6a:
        return Risk.HIGH
    if q3:
        return Risk.MODERATE
    if q6:  # behaviour more than 3 months ago
        return Risk.MODERATE
    if q1 or q2:
        return Risk.LOW
    return Risk.NONE
