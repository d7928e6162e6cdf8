"""WeChat, QQ and phone ids in a listing's title or in the text of its pictures.

Sellers of counterfeits move buyers off the platform ("加微信 lumora888", "QQ: 12345678", a mobile
number on the product photo); the same id across many shops ties them into one network. The labels
and id shapes are data (``data/contacts.yaml``). Text is NFKC-folded (full-width letters and digits
become ASCII) and lower-cased first; ids come out normalised: WeChat lower-case, QQ and phone digits
only (a phone without its +86).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from contract.data import read_yaml

_DATA = Path(__file__).parent / "data" / "contacts.yaml"
_GAP = r"[\s:：=\-_/|,，.。号是为]{0,4}"  # what sits between a label and its id: "微信号：", "QQ-", "vx "


@dataclass(frozen=True)
class Contact:
    kind: str  # "wechat", "qq" or "phone"
    id: str  # normalised
    text: str  # as found (folded)
    source: str  # "title" or "image_text"

    def as_dict(self) -> dict:
        return asdict(self)


@cache
def _patterns() -> list[tuple[str, re.Pattern, bool]]:
    """(kind, pattern, label required) in the order they are tried."""
    raw = read_yaml(_DATA)
    out = []
    for kind in ("wechat", "qq", "phone"):
        spec = raw[kind]
        labels = "|".join(re.escape(fold(label)) for label in sorted(spec["labels"], key=len, reverse=True))
        labelled = re.compile(rf"(?:{labels}){_GAP}(?P<id>{spec['id']})(?![a-z0-9])")
        out.append((kind, labelled, True))
    out.append(("phone", re.compile(rf"(?<![0-9])(?P<id>{raw['phone']['id']})(?![0-9])"), False))
    return out


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _normalise(kind: str, raw: str) -> str:
    if kind == "wechat":
        return raw.lower()
    digits = re.sub(r"[^0-9]", "", raw)
    return digits[2:] if kind == "phone" and len(digits) == 13 and digits.startswith("86") else digits


def find_contacts(text: str, source: str = "title") -> list[Contact]:
    """Every contact id in ``text``, each (kind, id) once, in order of appearance."""
    folded = fold(text or "")
    found: dict[tuple[str, str], tuple[int, Contact]] = {}
    taken: list[tuple[int, int]] = []
    for kind, pattern, _ in _patterns():
        for m in pattern.finditer(folded):
            span = m.span("id")
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue  # a QQ number already read as a phone, or the other way round
            ident = _normalise(kind, m.group("id"))
            if kind == "wechat" and ident.isdigit():
                continue
            taken.append(span)
            found.setdefault((kind, ident), (m.start(), Contact(kind, ident, m.group(0), source)))
    return [c for _, c in sorted(found.values(), key=lambda v: v[0])]


def contacts_of(listing: dict) -> list[dict]:
    """Contacts in the title and in ``image_text`` (OCR), each (kind, id) once, title first."""
    seen: set[tuple[str, str]] = set()
    out = []
    texts = [(str(listing.get("title") or ""), "title")]
    texts += [(str(t.get("text") or ""), "image_text") for t in listing.get("image_text") or [] if isinstance(t, dict)]
    for text, source in texts:
        for c in find_contacts(text, source):
            if (c.kind, c.id) not in seen:
                seen.add((c.kind, c.id))
                out.append(c.as_dict())
    return out
