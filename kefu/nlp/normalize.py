"""Normalisation of Chinese customer text and extraction of phone/ticket/order numbers.

Pure functions over text. The number formats (digit tables, ticket prefixes from
config/service.yml, order and mobile patterns) come from kefu/numbers.py.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional, Tuple

from kefu import numbers

# Full-width ASCII block (！..～) and the ideographic space.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20

_CN_DIGITS = numbers.CN_DIGITS
# Only read as digits inside phone-like runs ("幺三八…"); elsewhere 两 means "two of".
_PHONE_DIGITS = numbers.PHONE_DIGITS
_DIGITISH = "0-9" + "".join(_PHONE_DIGITS)
_RUN = re.compile(f"[{_DIGITISH}]+")
# A run of Chinese digits this long is a number being read out (一二三 -> 123);
# shorter runs are words (三四天 = three or four days, 一一 = one by one).
MIN_DIGIT_RUN = 3
PHONE_RUN = 7

_DASH = numbers.DASHES
_SEP = rf"(?:\s*[{_DASH}.]\s*|\s+)?"
_PHONE = re.compile(
    rf"(?<![{_DIGITISH}])(?:(?:\+|00)\s*86{_SEP})?"
    rf"([{_DIGITISH}]{{3}}){_SEP}([{_DIGITISH}]{{4}}){_SEP}([{_DIGITISH}]{{4}})(?![{_DIGITISH}])"
)
_MOBILE = numbers.MOBILE_RE
_ORDER = numbers.ORDER_IN_TEXT_RE
_SPACE_RUN = re.compile(r"\s+")


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits, punctuation and spaces -> ASCII (length-preserving)."""
    return text.translate(_HALFWIDTH)


def _convert_run(run: str) -> str:
    has_arabic = any(ch.isascii() for ch in run)
    if len(run) >= PHONE_RUN:
        return "".join(_PHONE_DIGITS.get(ch, ch) for ch in run)
    if has_arabic or len(run) < MIN_DIGIT_RUN:
        return run  # "50一次" is 50 per visit, not 501 visits
    return "".join(_CN_DIGITS.get(ch, ch) for ch in run)


def cn_digits_to_arabic(text: str) -> str:
    """Chinese digits read one by one -> Arabic digits (一三八 -> 138, 二〇二六 -> 2026).

    Runs shorter than three characters are left alone (三四天, 一一), and 幺/两 are
    digits only in phone-length runs. Numbers with 十/百 are not digit runs.
    """
    return _RUN.sub(lambda m: _convert_run(m.group()), text)


def extract_phone(text: str) -> Optional[str]:
    """The first mainland mobile number in ``text`` as 11 digits, or None.

    Accepts 3-4-4 groups separated by spaces or dashes, a +86/0086 prefix, and
    digits read out in Chinese (一三八…, 幺三八…, mixed 138一二三四5678). Digits
    inside longer numbers (order numbers) never match.
    """
    for match in _PHONE.finditer(to_halfwidth(text)):
        digits = "".join(_PHONE_DIGITS.get(ch, ch) for ch in "".join(match.groups()))
        if _MOBILE.fullmatch(digits):
            return digits
    return None


def extract_ticket_no(text: str) -> Optional[str]:
    """Ticket number such as ``BX20261122-0042`` (canonical upper case), or None."""
    match = numbers.ticket_in_text_re().search(cn_digits_to_arabic(to_halfwidth(text)))
    if not match:
        return None
    prefix, day, serial = match.groups()
    return f"{prefix.upper()}{day}-{serial}"


def extract_order_no(text: str) -> Optional[str]:
    """Order number ``DD`` + 12 digits (canonical upper case), or None."""
    match = _ORDER.search(cn_digits_to_arabic(to_halfwidth(text)))
    return f"{numbers.ORDER_PREFIX}{match.group(1)}" if match else None


def clean_user_text(text: str, max_len: int = 500) -> Tuple[str, bool]:
    """Remove control/format characters (zero-width, BOM, bidi marks), collapse
    whitespace and cut to ``max_len`` characters. Returns (text, truncated)."""
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs"):
            kept.append(ch)
    cleaned = _SPACE_RUN.sub(" ", "".join(kept)).strip()
    if len(cleaned) <= max_len:
        return cleaned, False
    return cleaned[:max_len].rstrip(), True


# "没有燃气味" reports the absence of a danger: a negation right before a term
# cancels that mention of it.
_NEGATION = re.compile(r"(没有|没|无|并非|不)\s*$")


def is_negated(text: str, start: int) -> bool:
    """Whether the term starting at ``start`` in ``text`` is preceded by a negation."""
    return bool(_NEGATION.search(text[max(0, start - 3):start]))
