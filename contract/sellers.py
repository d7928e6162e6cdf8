"""When two seller names are the same seller: authorization, re-listing, imposter stores and seller networks
all compare names folded the same way."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def traditional_to_simplified() -> dict[int, str]:
    """One traditional character -> its simplified form (OpenCC's ``TSCharacters``, first choice)."""
    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                continue
            trad, simple = parts[0], parts[1].split(" ")[0]
            if len(trad) == 1 and len(simple) == 1 and trad != simple:
                table[ord(trad)] = simple
    return table


@lru_cache(maxsize=4096)  # the same shops come back page after page
def normalize_seller(name: str | None) -> str:
    """A seller name for comparison: NFKC, casefold, simplified characters, no spaces, punctuation or
    invisible characters ("Lumora  官方旗艦店" == "lumora官方旗舰店")."""
    text = unicodedata.normalize("NFKC", name or "").casefold().translate(traditional_to_simplified())
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZC")
