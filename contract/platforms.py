"""The platforms ipwatch watches, by the ids used in data, spider names and commands."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    TAOBAO = "taobao"
    TMALL = "tmall"
    B2B_1688 = "1688"  # Alibaba's domestic wholesale site
    ALIBABA = "alibaba"  # Alibaba.com, the export marketplace


PLATFORMS: tuple[str, ...] = tuple(p.value for p in Platform)

# Taobao, Tmall and 1688 accept only marks registered in mainland China in IPP complaints.
CNIPA = "CNIPA"
CNIPA_ONLY_PLATFORMS: frozenset[str] = frozenset({Platform.TAOBAO, Platform.TMALL, Platform.B2B_1688})
