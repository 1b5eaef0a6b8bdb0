"""Identity numbers of credit subjects: validation and masking.

- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from the 31-character
  alphabet 0-9 A-H J-N P-R T-U W-Y (no I, O, Z, S, V). Character i (0-based, i < 17) has weight
  3**i mod 31; check = (31 - sum(value*weight) mod 31) mod 31, written with the same alphabet.
- Resident ID number (GB 11643-1999): 17 digits + check character, ISO 7064 MOD 11-2, weights
  2**(17-i) mod 11, check characters "10X98765432"; positions 7-14 are a valid birth date.
"""

from __future__ import annotations

from datetime import date

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [
    pow(3, i, 31) for i in range(17)
]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
ID_CHECK = "10X98765432"


def normalise(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    code = normalise(code)
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    # Positions 3-8 are the registering authority's administrative division code: digits only.
    if not code[2:8].isdigit():
        return False
    return uscc_check_char(code[:17]) == code[17]


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=False)) % 11]


def is_valid_id_number(number: str) -> bool:
    number = normalise(number)
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return id_check_char(number[:17]) == number[17]


def mask_id_number(number: str) -> str:
    """Keep the area code's first 3 and the last 4 characters: 110***********123X."""
    number = normalise(number)
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳小明 → 欧***; a one-character name stays masked whole."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
