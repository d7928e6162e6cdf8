"""When a right can be cited in an IPP complaint: in force on the day, and, on the platforms that want it, a
mainland-China (CNIPA) registration. Registry checks, the scorer and the complaints all ask here."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Protocol

from contract.platforms import CNIPA, CNIPA_ONLY_PLATFORMS


class CitableMark(Protocol):
    id: str
    office: str
    registration_number: str
    valid_from: date
    valid_until: date


class CitationProblem(StrEnum):
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_OFFICE = "wrong_office"


def citation_status(mark: CitableMark, platform: str, on: date) -> CitationProblem | None:
    """Why ``mark`` cannot be cited on ``platform`` on ``on``, or None when it can."""
    if mark.valid_until < on:
        return CitationProblem.EXPIRED
    if on < mark.valid_from:
        return CitationProblem.NOT_YET_VALID
    if platform in CNIPA_ONLY_PLATFORMS and str(mark.office).upper() != CNIPA:
        return CitationProblem.WRONG_OFFICE
    return None


def citation_problem(mark: CitableMark, platform: str, on: date) -> str | None:
    """The same, as a sentence naming the mark, for messages and refusals."""
    problem = citation_status(mark, platform, on)
    label = f"trademark {mark.id} ({mark.office} {mark.registration_number})"
    if problem is CitationProblem.EXPIRED:
        return f"{label} expired on {mark.valid_until}; expired marks are never cited"
    if problem is CitationProblem.NOT_YET_VALID:
        return f"{label} is not valid before {mark.valid_from}"
    if problem is CitationProblem.WRONG_OFFICE:
        return f"trademark {mark.id} is registered with {mark.office}; {platform} accepts only CNIPA (China) marks in IPP complaints"
    return None
