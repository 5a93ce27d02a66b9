"""E-mail addresses: trimmed, lower-case, half-width, without `mailto:`, and of a valid shape.

Two foldings are opt-in, because they change which mailbox an address names:
- `fold_provider_rules`: Gmail ignores dots in the local part and everything after `+`
  (`J.Smith+shop@gmail.com` is `jsmith@gmail.com`). Other providers differ (Outlook keeps dots, QQ mail
  has no plus addressing, corporate servers do what they like), so it is applied to Gmail domains only.
- `fix_provider_typos`: a domain one edit away from exactly one well-known provider (`qq.con`, `gmial.com`,
  `163.cm`) becomes that provider. Such domains do not receive mail, but a real small domain could be
  one edit from a big one, so callers decide.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.identity.normalize.text import SPACE_CLASS, as_string_array, fold_width, map_unique

# Local part: the RFC 5322 atom characters and dots (no leading, trailing or double dot). Domain: at least
# two labels of letters, digits and inner hyphens, the last alphabetic. ASCII only: internationalized
# addresses are rare in Chinese retail data and their folding rules differ by provider.
SHAPE = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}"
)
_SHAPE = re.compile(SHAPE)
_SPACES = re.compile(SPACE_CLASS)
_MAILTO = re.compile(r"(?i)^mailto:")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
PROVIDERS = (
    "qq.com",
    "163.com",
    "126.com",
    "139.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "aliyun.com",
    "foxmail.com",
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "yahoo.com",
)


def normalize_email(
    value: str | None, *, fold_provider_rules: bool = False, fix_provider_typos: bool = False
) -> str | None:
    """The canonical address, or None when missing or not shaped like an address."""
    if value is None:
        return None
    text = _SPACES.sub("", fold_width(value).replace("。", "."))  # "qq。com" from a Chinese IME
    text = _MAILTO.sub("", text)
    if not text.isascii():
        return None
    text = text.lower()
    if not _SHAPE.fullmatch(text):
        return None
    if fix_provider_typos:
        text = _fix_typo(text)
    if fold_provider_rules:
        text = _fold_gmail(text)
    return text


def _fold_gmail(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if domain not in GMAIL_DOMAINS:
        return address
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@gmail.com" if local else address


def _fix_typo(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if domain in PROVIDERS:
        return address
    near = [p for p in PROVIDERS if _one_edit(domain, p)]
    return f"{local}@{near[0]}" if len(near) == 1 else address


def _one_edit(a: str, b: str) -> bool:
    """Whether a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        swapped = a[start + 1 : start + 2] + a[start : start + 1] + a[start + 2 :]
        return a[start + 1 :] == b[start + 1 :] or swapped == b[start:]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return shorter[start:] == longer[start + 1 :]


def normalize_email_array(
    values: pa.Array | pa.ChunkedArray, *, fold_provider_rules: bool = False, fix_provider_typos: bool = False
) -> pa.Array:
    """`normalize_email` over an Arrow array; the default folding runs entirely in pyarrow.compute."""
    values = as_string_array(values)
    text = pc.utf8_normalize(values, "NFKC")
    text = pc.replace_substring(text, "。", ".")
    text = pc.replace_substring_regex(text, SPACE_CLASS, "")
    text = pc.replace_substring_regex(text, r"^(?i:mailto:)", "")
    text = pc.if_else(pc.string_is_ascii(text), text, pa.scalar(None, pa.string()))
    text = pc.ascii_lower(text)
    valid = pc.match_substring_regex(text, f"^(?:{SHAPE})$")
    text = pc.if_else(valid, text, pa.scalar(None, pa.string()))
    if fold_provider_rules or fix_provider_typos:
        options = {"fold_provider_rules": fold_provider_rules, "fix_provider_typos": fix_provider_typos}
        text = map_unique(text, lambda v: normalize_email(v, **options))
    return text
