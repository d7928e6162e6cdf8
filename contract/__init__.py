"""The data contract every other package imports: platform ids, the vocabularies of a listing's verdict,
reason and status, the fields of a listing and its score, the stats keys, and the few rules that must be
decided in one place (when an image hit is confident, when a right can be cited, when two seller names are
the same seller, when a listing has been removed).

What users and their scripts may rely on is written down in ``docs/contract.md``; this package is that
page in code. It imports nothing from the rest of ipwatch.
"""

from contract.fields import LISTING_FIELDS, SCORE_FIELDS, STORED_FIELDS
from contract.image_hit import CONFIDENT_DISTANCE, ImageHit
from contract.platforms import CNIPA, CNIPA_ONLY_PLATFORMS, PLATFORMS, Platform
from contract.removal import RemovalOutcome, is_removed_url, removal_outcome, removal_signs
from contract.rights import CitationProblem, citation_problem, citation_status
from contract.sellers import normalize_seller
from contract.vocabulary import (
    COMPLAINT_ON_FILE,
    COMPLAINT_TAKEN_DOWN,
    FLAGGED,
    ComplaintStatus,
    ListingStatus,
    Reason,
    RunStatus,
    Verdict,
)

__all__ = [
    "CNIPA",
    "CNIPA_ONLY_PLATFORMS",
    "COMPLAINT_ON_FILE",
    "COMPLAINT_TAKEN_DOWN",
    "CONFIDENT_DISTANCE",
    "FLAGGED",
    "LISTING_FIELDS",
    "PLATFORMS",
    "SCORE_FIELDS",
    "STORED_FIELDS",
    "CitationProblem",
    "ComplaintStatus",
    "ImageHit",
    "ListingStatus",
    "Platform",
    "Reason",
    "RemovalOutcome",
    "RunStatus",
    "Verdict",
    "citation_problem",
    "citation_status",
    "is_removed_url",
    "normalize_seller",
    "removal_outcome",
    "removal_signs",
]
