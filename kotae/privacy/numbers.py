"""Recognizers of PII written with digits and ASCII: e-mail addresses, phone numbers,
My Numbers (個人番号), corporate numbers (法人番号), credit card numbers and postal codes.

Each recognizer reads the *folded* text (:func:`fold`): the original with full-width ASCII
(０-９, ＠, （）, －) and dash-like characters between digits mapped one character to one
character, so that every offset found in it is an offset of the original text. Numbers whose
kind has a check digit (My Number, corporate number, card) are reported only when it is valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from kotae.privacy.places import PREFECTURE_PATTERN

Span = tuple[str, int, int]  # (kind, start, end) in the original text

# Dash-like characters people type in numbers: hyphen, figure dash, en/em dash, minus,
# full-width hyphen-minus, katakana long vowel marks (ー, ｰ: an IME's "hyphen").
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70"
_DASH_NEAR_DIGIT = re.compile(rf"(?<=\d)[{_DASHES}](?=[\d(])|(?<=\))[{_DASHES}](?=\d)")


def fold(text: str) -> str:
    """``text`` with each character replaced by its NFKC form when that form is exactly one
    character (full-width digits, letters, ＠ and brackets become ASCII, the ideographic space
    a space) and dashes between digits replaced by ``-``. Same length as ``text``."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return _DASH_NEAR_DIGIT.sub("-", "".join(out))


def _boundary_ok(text: str, start: int, end: int) -> bool:
    """The span is not a piece of a longer number or word: no letter or digit touches it,
    and no separator that joins it to another digit (``12-``, ``.5``, ``,000``)."""
    if start > 0:
        before = text[start - 1]
        if before.isascii() and before.isalnum():
            return False
        if before in "-./,_" and start > 1 and text[start - 2].isdigit():
            return False
        if before == "+":
            return False
        if before == "_" and start > 1 and text[start - 2].isascii() and text[start - 2].isalnum():
            return False  # an identifier (ID_0901234...), not a file name's 山田_090-...
    if end < len(text):
        after = text[end]
        if after.isascii() and after.isalnum():
            return False
        if after in "-./,_" and end + 1 < len(text) and text[end + 1].isdigit():
            return False
    return True


# --- e-mail ---------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)


def find_emails(folded: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(folded):
        yield "email", m.start(), m.end()


# --- check digits ---------------------------------------------------------------------------


def my_number_check_digit(base: str) -> int:
    """The check digit of the 11 base digits of a My Number (個人番号), by the official rule:
    Σ Pn × Qn for n = 1..11 counted from the right, Qn = n + 1 (n ≤ 6) or n − 5 (n ≥ 7);
    11 − (Σ mod 11), or 0 when the remainder is 0 or 1."""
    total = 0
    for n, digit in enumerate(reversed(base), start=1):
        total += int(digit) * (n + 1 if n <= 6 else n - 5)
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number(digits: str) -> bool:
    return (
        len(digits) == 12
        and digits.isdigit()
        and int(digits[11]) == my_number_check_digit(digits[:11])
    )


def corporate_check_digit(base: str) -> int:
    """The check digit (the first digit) of a corporate number (法人番号) for its 12 base
    digits: 9 − (Σ Pn × Qn mod 9), n = 1..12 from the right, Qn = 1 (n odd) or 2 (n even)."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return 9 - total % 9


def is_corporate_number(digits: str) -> bool:
    return (
        len(digits) == 13
        and digits.isdigit()
        and int(digits[0]) == corporate_check_digit(digits[1:])
    )


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card network of a number by its issuer prefix (IIN) and length, if any."""
    n = len(digits)
    two, three, four, six = (int(digits[:k]) for k in (2, 3, 4, 6))
    if digits[0] == "4" and n in (16, 19):  # not 13: old Visa numbers, but also JAN codes
        return "visa"
    if (51 <= two <= 55 or 222100 <= six <= 272099) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= three <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if (four == 6011 or 644 <= three <= 649 or two == 65) and 16 <= n <= 19:
        return "discover"
    if two == 62 and 16 <= n <= 19:
        return "unionpay"
    return None


def is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and card_brand(digits) is not None and luhn_ok(digits)


# --- grouped digit runs: My Number, corporate number, card ------------------------------------

# Digits in groups joined by one space or hyphen (the same one throughout).
_DIGIT_RUN = re.compile(r"\d+(?:([ \-])\d+(?:\1\d+)*)?")
_CORPORATE_PREFIX = "T"  # a qualified invoice issuer number: T + the corporate number


def find_id_numbers(folded: str) -> Iterator[Span]:
    for m in _DIGIT_RUN.finditer(folded):
        start, end = m.start(), m.end()
        text = m.group()
        groups = re.findall(r"\d+", text)
        digits = "".join(groups)
        if not 12 <= len(digits) <= 19:
            continue
        invoice = start > 0 and folded[start - 1] == _CORPORATE_PREFIX
        if invoice and (start < 2 or not folded[start - 2].isalnum()):
            left_ok = _boundary_ok(folded, start - 1, end)
        else:
            left_ok = _boundary_ok(folded, start, end)
        if not left_ok:
            continue
        sizes = [len(g) for g in groups]
        if len(digits) == 12 and sizes in ([12], [4, 4, 4]) and is_my_number(digits):
            yield "my_number", start, end
        elif is_card_number(digits) and (len(sizes) == 1 or min(sizes) >= 3):
            yield "credit_card", start, end
        elif len(digits) == 13 and sizes in ([13], [1, 4, 4, 4]) and is_corporate_number(digits):
            yield "corporate_number", start, end


# --- phone numbers --------------------------------------------------------------------------

# Digit groups joined by a hyphen, space, dot or parentheses: 03-1234-5678, 06(1234)5678,
# (03) 1234-5678, +81 3 1234 5678, +81 (0)90-1234-5678, 090 1234 5678, 0120123456.
_SEP = r"(?:\)[ \-]?|[ \-.]\(?|\()"
_PHONE = re.compile(rf"(?:\+ ?)?\(?\d{{1,11}}(?:{_SEP}\d{{1,11}}){{0,5}}")
_JP_MOBILE = ("070", "080", "090", "050", "020")
_JP_FREE = ("0120", "0570", "0800", "0990")


def _jp_domestic(digits: str, groups: list[str]) -> bool:
    """A Japanese number dialled from Japan: 0 + area code, 10 digits (fixed lines, 0120,
    0570) or 11 (mobile 070/080/090, IP 050, 0800)."""
    if len(digits) not in (10, 11) or digits[0] != "0" or digits[1] == "0":
        return False
    eleven = digits.startswith(_JP_MOBILE) or digits.startswith("0800")
    if eleven != (len(digits) == 11):
        return False
    if len(groups) == 1:
        return True
    if len(groups) != 3 or not 2 <= len(groups[0]) <= 5 or not 1 <= len(groups[1]) <= 4:
        return False
    last = len(groups[2])
    return last == 4 or (last == 3 and digits.startswith(_JP_FREE))


def _nanp(digits: str, groups: list[str]) -> bool:
    """A North American number written 3-3-4, optionally after 1: (415) 555-0100."""
    if len(digits) == 11 and digits[0] == "1" and len(groups) == 4 and groups[0] == "1":
        digits, groups = digits[1:], groups[1:]
    sizes = [len(g) for g in groups]
    return sizes == [3, 3, 4] and digits[0] in "23456789" and digits[3] in "23456789"


def _international(digits: str, groups: list[str], zero_in_brackets: bool) -> bool:
    """+CC and a national number: checked closely for Japan (+81) and NANP (+1), else by
    the E.164 length (8-15 digits) in at least two groups."""
    if digits.startswith("81"):
        national = digits[2:]
        if zero_in_brackets and national.startswith("0"):
            national = national[1:]
        rest = [g for g in groups[1:] if g != "0"] if zero_in_brackets else groups[1:]
        return (
            len(national) in (9, 10)
            and national[0] != "0"
            and _jp_domestic("0" + national, ["0" + "".join(rest)])
        )
    if digits.startswith("1") and len(groups[0]) == 1:
        return len(digits) == 11 and _nanp(digits[1:], groups[1:] or [digits[1:]])
    return 8 <= len(digits) <= 15 and len(groups) >= 2 and len(groups[0]) <= 3


def find_phones(folded: str) -> Iterator[Span]:
    """Phone numbers: each run of digit groups is searched for its longest stretch of whole
    groups that is a valid number (a date or a reference number next to a phone number is
    left out)."""
    for m in _PHONE.finditer(folded):
        groups = list(re.finditer(r"\d+", m.group()))
        found = _longest_phone(folded, m.start(), groups)
        if found is not None:
            yield "phone", *found


def _longest_phone(folded: str, base: int, groups: list[re.Match[str]]) -> tuple[int, int] | None:
    count = len(groups)
    for size in range(count, 0, -1):
        for first in range(count - size + 1):
            last = first + size - 1
            start, end = base + groups[first].start(), base + groups[last].end()
            while start > 0 and (folded[start - 1] in "+(" or folded[start - 2 : start] == "+ "):
                start -= 1
            text = folded[start:end]
            if _brackets_balanced(text) and _boundary_ok(folded, start, end) and _phone_ok(text):
                return start, end
    return None


def _phone_ok(text: str) -> bool:
    groups = re.findall(r"\d+", text)
    digits = "".join(groups)
    if text.startswith("+"):
        return _international(digits, groups, "(0)" in text)
    return _jp_domestic(digits, groups) or _nanp(digits, groups)


def _brackets_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0 or depth > 1:
            return False
    return depth == 0


# --- postal codes ---------------------------------------------------------------------------

_POSTAL_MARK = re.compile(r"(?:〒|郵便番号|[Pp]ostal [Cc]ode|ZIP|[Zz]ip [Cc]ode)[:：\s]{0,2}")
_POSTAL = re.compile(r"\d{3}-?\d{4}")
_POSTAL_BEFORE_ADDRESS = re.compile(rf"\d{{3}}-\d{{4}}(?=[ \u3000]?(?:{PREFECTURE_PATTERN}))")


def find_postal_codes(folded: str) -> Iterator[Span]:
    """``〒123-4567``, ``郵便番号 1234567``, and ``123-4567`` just before a prefecture."""
    for mark in _POSTAL_MARK.finditer(folded):
        m = _POSTAL.match(folded, mark.end())
        if m and _boundary_ok(folded, m.start(), m.end()):
            yield "postal_code", m.start(), m.end()
    for m in _POSTAL_BEFORE_ADDRESS.finditer(folded):
        if _boundary_ok(folded, m.start(), m.end()):
            yield "postal_code", m.start(), m.end()
