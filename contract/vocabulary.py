"""The words a listing, its score and a complaint are described with. Each is a ``StrEnum``, so a member
is the plain string written to JSON, CSV and the store (``Verdict.SUSPECT == "suspect"``)."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    INFRINGING = "infringing"  # file it after review
    SUSPECT = "suspect"  # a person must look
    AUTHORIZED = "authorized"  # an allow-listed seller
    CLEAN = "clean"


# The verdicts a reviewer is shown and a complaint can come from.
FLAGGED: frozenset[str] = frozenset({Verdict.INFRINGING, Verdict.SUSPECT})


class Reason(StrEnum):
    """Why a listing infringes; each maps to an IPP complaint reason. A clean listing's reason is ``NONE``."""

    COUNTERFEIT = "counterfeit"
    TRADEMARK_MISUSE = "trademark_misuse"
    STOLEN_IMAGE = "stolen_image"
    NONE = ""


class ListingStatus(StrEnum):
    """Where a listing of this run stands against earlier runs and complaints."""

    NEW = "new"  # never seen before
    SEEN = "seen"  # seen in an earlier run, no complaint about it
    COMPLAINED = "complained"  # a complaint about it is on file and it is still online
    RELISTED = "re-listed"  # a new listing of something complained about (same seller and photo)
    REMOVED = "removed"  # complained about and confirmed taken down


class ComplaintStatus(StrEnum):
    """The state of a complaint record in the store (the IPP case lifecycle lives in ``enforcement``)."""

    PREPARED = "prepared"  # in a batch written for filing
    FILED = "filed"  # the analyst says it was submitted on IPP
    REMOVED = "removed"  # the listing is confirmed taken down
    RELISTED = "relisted"  # taken down, and the same seller listed the same goods again


class RunStatus(StrEnum):
    """How a monitor run ended, as the store's ``runs`` table keeps it."""

    RUNNING = "running"  # started, not ended (or killed: the next start decides, see ``store.resume``)
    FINISHED = "finished"
    FINISHED_WITH_ERRORS = "finished_with_errors"  # ended, with data missing that the summary names
    BLOCKED = "blocked"  # no platform could be crawled
    INTERRUPTED = "interrupted"  # stopped by SIGTERM or Ctrl-C, or closed as too old to resume


# A complaint in one of these is on file (filing the listing again is refused without --refile) ...
COMPLAINT_ON_FILE: tuple[str, ...] = (ComplaintStatus.PREPARED, ComplaintStatus.FILED)
# ... and in one of these, the complained listing itself is gone.
COMPLAINT_TAKEN_DOWN: tuple[str, ...] = (ComplaintStatus.REMOVED, ComplaintStatus.RELISTED)
