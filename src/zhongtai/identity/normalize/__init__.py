"""Normalizers for identity fields, each a scalar function and an Arrow form.

Every `normalize_x(value)` returns the canonical text or None (missing or invalid); every
`normalize_x_array(array)` returns what the scalar form returns, element by element, fast on millions.
"""

from zhongtai.identity.normalize.address import (
    AddressKey,
    address_key,
    normalize_address,
    normalize_address_array,
)
from zhongtai.identity.normalize.email import normalize_email, normalize_email_array
from zhongtai.identity.normalize.id_card import (
    IdCard,
    normalize_id_card,
    normalize_id_card_array,
    parse_id_card,
)
from zhongtai.identity.normalize.names import NameKeys, name_keys, normalize_name, normalize_name_array
from zhongtai.identity.normalize.phone import normalize_phone, normalize_phone_array, phone_kind

__all__ = [
    "AddressKey",
    "IdCard",
    "NameKeys",
    "address_key",
    "name_keys",
    "normalize_address",
    "normalize_address_array",
    "normalize_email",
    "normalize_email_array",
    "normalize_id_card",
    "normalize_id_card_array",
    "normalize_name",
    "normalize_name_array",
    "normalize_phone",
    "normalize_phone_array",
    "parse_id_card",
    "phone_kind",
]
