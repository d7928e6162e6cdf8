"""Replay recorded responses (vcrpy cassettes) and record new ones; see handler.py for the design."""

from crawlers.replay.keys import request_key
from crawlers.replay.library import CassetteError, CassetteLibrary, Recorded

__all__ = ["CassetteError", "CassetteLibrary", "Recorded", "request_key"]
