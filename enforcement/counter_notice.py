"""A response pack for a seller's counter-notice: everything the rights holder needs to reply on IPP.

    <folder>/original/      the evidence filed with the complaint, each file checked against its recorded sha256
    <folder>/fresh/         the listing captured again now (screenshot.png, page.html, meta.json)
    <folder>/comparison.png the listing's picture beside the registered one
    <folder>/ipr/           the certificate(s) of the right the complaint cites
    <folder>/reply-zh.txt, reply-en.txt   a drafted reply, with the blanks only the rights holder can fill marked
    <folder>/pack.json      the notice, its deadline, the case, and the sha256 of every file in the pack

The reply is built from two things: the listing's signals (why it was flagged), and what the seller's kind
of evidence must show to be accepted (``data/counter_notice.yaml``: an invoice, an authorisation, other).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from contract.data import read_yaml
from enforcement.casebook import case_label
from exports.evidence import safe_component, sha256_file, utc_now

DATA = Path(__file__).with_name("data") / "counter_notice.yaml"


class PackError(OSError):
    """The pack cannot be written (a folder that is not empty, a disk that is full); the message names it."""


@dataclass
class PackResult:
    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    original_checked: dict[str, str] = field(default_factory=dict)  # file -> "unchanged" | "changed" | "missing"
    fresh_status: str = ""  # ok | failed | skipped | removed
    notes: list[str] = field(default_factory=list)


@cache
def kinds() -> dict:
    return read_yaml(DATA)


def pack_folder(root: Path, case_id: int, platform: str, listing_id: str, received: str) -> Path:
    return root / f"{case_label(case_id)}-{safe_component(platform)}-{safe_component(listing_id)}-{received}"


def write_response_pack(folder: Path, *, notice: dict, case: dict, listing: dict, registry: Any,
                        capture: Callable[[Path], str] | None = None) -> PackResult:
    """Write the pack into ``folder`` (new or empty). ``capture(fresh_dir)`` captures the listing again and
    returns its status; None skips the fresh capture (said in the pack)."""
    if folder.exists() and any(folder.iterdir()):
        raise PackError(f"{folder}: not empty; a pack is written into a new folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        result = PackResult(folder)
        _original_evidence(folder, case, notice, result)
        result.fresh_status = capture(folder / "fresh") if capture else "skipped"
        if not capture:
            result.notes.append("no fresh capture was made (--no-capture)")
        _comparison(folder, result)
        _certificates(folder, case, registry, result)
        for language in ("en", "zh"):
            text = draft_reply(language, notice=notice, case=case, listing=listing, registry=registry)
            (folder / f"reply-{language}.txt").write_text(text, encoding="utf-8")
        result.files = {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
                        if p.is_file() and p.name != "pack.json"}
        manifest = {"created_at": utc_now(), "case": case_label(case["id"]), "ipp_number": case.get("ipp_number"),
                    "ipr_id": case["ipr_id"], "reason": case["reason"], "notice": notice,
                    "deadline": notice["deadline"], "original_evidence": result.original_checked,
                    "fresh_capture": result.fresh_status, "notes": result.notes, "files": result.files}
        (folder / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    except OSError as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"{exc.filename or folder}: cannot write the response pack: {exc.strerror or exc}") from exc
    return result


def _original_evidence(folder: Path, case: dict, notice: dict, result: PackResult) -> None:
    source = Path(case.get("folder") or "") / "evidence" / (
        f"{safe_component(notice['platform'])}-{safe_component(notice['listing_id'])}")
    meta_path = source / "meta.json"
    if not meta_path.is_file():
        result.notes.append(f"the original evidence was not found at {source}")
        return
    recorded = json.loads(meta_path.read_text(encoding="utf-8")).get("files") or {}
    target = folder / "original"
    target.mkdir()
    shutil.copy2(meta_path, target / "meta.json")
    for name, digest in sorted(recorded.items()):
        path = source / safe_component(name)
        if not path.is_file():
            result.original_checked[name] = "missing"
            continue
        shutil.copy2(path, target / path.name)
        result.original_checked[name] = "unchanged" if sha256_file(path) == digest else "changed"
    changed = [n for n, state in result.original_checked.items() if state != "unchanged"]
    if changed:
        result.notes.append(f"original evidence not as filed: {', '.join(changed)} (see original_evidence)")


def _comparison(folder: Path, result: PackResult) -> None:
    for candidate in (folder / "fresh" / "comparison.png", folder / "original" / "comparison.png"):
        if candidate.is_file():
            shutil.copy2(candidate, folder / "comparison.png")
            return
    result.notes.append("no comparison picture: the listing's image matched no registered photo")


def _certificates(folder: Path, case: dict, registry: Any, result: PackResult) -> None:
    files = certificate_files(registry, case["ipr_id"])
    if not files:
        result.notes.append(f"no certificate file in the registry for {case['ipr_id']}")
        return
    target = folder / "ipr"
    target.mkdir()
    for path in files:
        shutil.copy2(path, target / Path(path).name)


def certificate_files(registry: Any, ipr_id: str) -> list[Path]:
    marks = {m.id: m for m in registry.trademarks}
    rights = {c.id: c for c in registry.copyrights}
    if ipr_id in marks:
        mark = marks[ipr_id]
        return [Path(p) for group in ("certificates", "renewal_certificates", "assignment_certificates",
                                      "extension_certificates") for p in getattr(mark, group, ()) or ()]
    if ipr_id in rights:
        right = rights[ipr_id]
        return [Path(p) for p in (getattr(right, "certificate", None), getattr(right, "claim_statement", None)) if p]
    return []


# --- the drafted reply ----------------------------------------------------------------------------
TEXT = {
    "en": {"title": "Reply to the counter-notice on IPP complaint {ipp} ({case})",
           "listing": "Listing: {url} ({platform} {listing_id}), seller {seller}",
           "right": "Right cited: {right}",
           "dates": "Counter-notice received {received}; reply due by {deadline}.",
           "must": "For the counter-notice to be accepted, the seller's evidence must show:",
           "why": "Why the complaint stands:",
           "fill": "Points only the rights holder can confirm:",
           "attached": "Attached: the evidence filed with the complaint (sha256 in pack.json), a fresh capture of "
                       "the listing, the comparison picture and the certificate of the right.",
           "sign": "Replied by {who}",
           "who": "name and title of the person replying",
           "seller_unknown": "(not shown)"},
    "zh": {"title": "关于IPP投诉 {ipp}（{case}）反通知的回复",
           "listing": "被投诉商品：{url}（{platform} {listing_id}），卖家 {seller}",
           "right": "所依据的权利：{right}",
           "dates": "反通知收到日期 {received}；回复截止日期 {deadline}。",
           "must": "卖家的反通知要被采纳，其证据须证明：",
           "why": "投诉成立的理由：",
           "fill": "仅权利人可确认的事项：",
           "attached": "附件：投诉时提交的证据（sha256见pack.json）、商品页面的最新截图、图片对比图及权利证书。",
           "sign": "回复人：{who}",
           "who": "回复人姓名及职务",
           "seller_unknown": "（未显示）"},
}


def draft_reply(language: str, *, notice: dict, case: dict, listing: dict, registry: Any) -> str:
    t, spec = TEXT[language], kinds()["kinds"][notice["kind"]]
    blank = kinds()["blank"][language]
    lines = [t["title"].format(ipp=case.get("ipp_number") or blank.format(what="IPP complaint number"),
                               case=case_label(case["id"])), "",
             t["listing"].format(url=listing.get("url") or "", platform=notice["platform"],
                                 listing_id=notice["listing_id"],
                                 seller=listing.get("seller_name") or t["seller_unknown"]),
             t["right"].format(right=_right(registry, case["ipr_id"], language)),
             t["dates"].format(received=notice["received_on"], deadline=notice["deadline"]), "",
             spec["claim"][language], t["must"]]
    lines += [f"  - {point[language]}" for point in spec["must_show"]]
    lines += ["", t["why"]]
    lines += [f"  - {reason}" for reason in _reasons(listing, language)]
    lines += ["", t["fill"]]
    lines += [f"  - {blank.format(what=point[language])}" for point in spec["blanks"]]
    lines += ["", t["attached"], "", t["sign"].format(who=blank.format(what=t["who"])), ""]
    return "\n".join(lines)


def _right(registry: Any, ipr_id: str, language: str) -> str:
    marks = {m.id: m for m in registry.trademarks}
    if ipr_id in marks:
        mark = marks[ipr_id]
        classes = ", ".join(str(c) for c in mark.classes)
        if language == "zh":
            return f"{mark.mark} 商标（注册号 {mark.registration_number}，{mark.office}，第 {classes} 类，有效期至 " \
                   f"{mark.valid_until.isoformat()}）"
        return f"the trademark {mark.mark} (registration {mark.registration_number}, {mark.office}, classes " \
               f"{classes}, valid until {mark.valid_until.isoformat()})"
    right = next((c for c in registry.copyrights if c.id == ipr_id), None)
    if right is None:
        return ipr_id
    if language == "zh":
        return f"{right.title} 著作权（原图发布于 {right.official_url or '—'}）"
    return f"the copyright in {right.title} (originals published at {right.official_url or '—'})"


def _reasons(listing: dict, language: str) -> list[str]:
    """The listing's signals as reasons, in the reply's language (the explanation stays as the scorer wrote it)."""
    signals = listing.get("signals") if isinstance(listing.get("signals"), dict) else {}
    reasons = []
    brand, image, price = signals.get("brand") or {}, signals.get("image") or {}, signals.get("price") or {}
    zh = language == "zh"
    if brand.get("text"):
        reasons.append(f"标题使用了 '{brand['text']}'（{brand.get('kind', '')}，对应注册商标 {brand.get('mark') or brand.get('term')}）"
                       if zh else f"the title uses '{brand['text']}' ({brand.get('kind', '')} form of the registered "
                                  f"mark {brand.get('mark') or brand.get('term')})")
    if image.get("registered_image"):
        reasons.append(f"主图与权利人登记的图片 {image['registered_image']} 一致（汉明距离 {image.get('distance')}，见 "
                       "comparison.png）" if zh else
                       f"the main picture is the rights holder's registered photo {image['registered_image']} "
                       f"(distance {image.get('distance')}; see comparison.png)")
    if price.get("ratio") is not None:
        percent = round(float(price["ratio"]) * 100)
        reference = price.get("reference") or {}
        reasons.append(f"售价仅为参考价 {reference.get('amount')} {reference.get('currency')} 的 {percent}%" if zh else
                       f"the price is {percent}% of the reference price {reference.get('amount')} "
                       f"{reference.get('currency')}")
    if signals.get("counterfeit_terms"):
        terms = "、".join(signals["counterfeit_terms"]) if zh else ", ".join(signals["counterfeit_terms"])
        reasons.append(f"商品描述含有仿冒用语：{terms}" if zh else f"the listing itself says {terms}")
    if listing.get("explanation"):
        reasons.append(f"ipwatch 的判定说明：{listing['explanation']}" if zh else
                       f"ipwatch's explanation: {listing['explanation']}")
    return reasons or [kinds()["blank"][language].format(what="why this listing infringes" if not zh else
                                                         "该商品侵权的理由")]
