"""What the catalog should say about every dataset and field of the scenario: descriptions and PII classes.

SQL column types come from `schema.py`; file fields are declared here with their types.
"""

from __future__ import annotations

# table -> column -> (pii class or None, description)
SQL_NOTES: dict[str, dict[str, tuple[str | None, str]]] = {
    "customers": {
        "customer_id": (None, "CRM customer number; a person registered twice has two"),
        "full_name": ("name", "Name as registered: characters, pinyin or a Latin name, with the odd typo"),
        "gender": (None, "M, F or empty"),
        "birth_date": (None, "Date of birth when given"),
        "mobile": (
            "phone",
            "Mobile number as typed (+86, spaces, dashes, full-width digits); may be a relative's",
        ),
        "email": ("email", "E-mail as typed, when given"),
        "id_number": ("id_card", "18-digit resident ID number, for some customers"),
        "province": (None, "Province of the address (municipalities: the city)"),
        "city": (None, "City of the address"),
        "address": ("address", "Home address as of the last edit of the record"),
        "register_channel": (
            None,
            "Where the customer registered: store, app, web, wechat_mini, call_center",
        ),
        "registered_at": (None, "When the record was created"),
        "status": (None, "active or closed"),
        "marketing_opt_in": (None, "Agreed to receive marketing"),
        "updated_at": (None, "Last change of the record (watermark)"),
    },
    "loyalty_members": {
        "member_id": (None, "Loyalty card number"),
        "customer_id": (None, "Linked CRM customer, when the link was made"),
        "full_name": ("name", "Name on the membership"),
        "gender": (None, "M or F"),
        "birthday": (None, "Birthday for the birthday coupon, when given"),
        "mobile": ("phone", "Mobile number as typed; parents often give a child's"),
        "email": ("email", "E-mail as typed, when given"),
        "id_number": ("id_card", "18-digit resident ID number, for about half of the members"),
        "tier": (None, "bronze, silver, gold or platinum by spend in the last 12 months"),
        "points_balance": (None, "Points not yet redeemed"),
        "spend_12m": (None, "Spend in the last 12 months (yuan)"),
        "enroll_store_id": (None, "Store where the member enrolled"),
        "enrolled_on": (None, "Enrolment date"),
        "updated_at": (None, "Last change: enrolment or the last purchase that earned points (watermark)"),
    },
    "products": {
        "product_id": (None, "Product number used by every system"),
        "sku": (None, "Stock keeping unit code"),
        "product_name": (None, "Brand, kind and edition"),
        "category": (None, "Category code (apparel, beauty, electronics...)"),
        "category_name": (None, "Category name in Chinese"),
        "brand": (None, "Brand"),
        "list_price": (None, "Shelf price (yuan)"),
        "status": (None, "active or discontinued"),
        "launched_on": (None, "Launch date"),
        "updated_at": (None, "Last change (watermark)"),
    },
    "stores": {
        "store_id": (None, "Store number; the e-commerce shops are stores of format online"),
        "store_code": (None, "Short store code"),
        "store_name": (None, "Store name"),
        "store_format": (None, "flagship, mall, community, outlet or online"),
        "province": (None, "Province (municipalities: the city)"),
        "city": (None, "City"),
        "district": (None, "District"),
        "address": (None, "Street address of the store"),
        "opened_on": (None, "Opening date"),
        "updated_at": (None, "Last change (watermark)"),
    },
    "orders": {
        "order_id": (None, "Order number (internal)"),
        "order_no": (None, "Order number printed on receipts and quoted to customer service"),
        "channel": (None, "store, app, tmall or mini_program"),
        "store_id": (None, "Store, or the e-commerce shop, that took the order"),
        "account_id": (None, "E-commerce login (online orders); the user_id of the clickstream"),
        "member_id": (None, "Loyalty card shown or linked, when any"),
        "buyer_name": ("name", "Receiver name (online) or name on the e-invoice (store)"),
        "buyer_phone": ("phone", "Receiver phone (online) or the phone a cashier typed (store)"),
        "buyer_email": ("email", "E-mail for the e-receipt, when given"),
        "shipping_address": ("address", "Delivery address (online orders)"),
        "status": (None, "completed, cancelled, returned, refunded, paid or shipped"),
        "payment_method": (None, "alipay, wechat_pay, unionpay, credit_card or cash"),
        "item_count": (None, "Items in the order"),
        "total_amount": (None, "Amount paid after discounts (yuan)"),
        "discount_amount": (None, "Discounts: festivals and coupons (yuan)"),
        "ordered_at": (None, "When the order was placed (local time)"),
        "updated_at": (None, "Last status change (watermark)"),
    },
    "order_lines": {
        "order_id": (None, "Order"),
        "line_no": (None, "Line within the order"),
        "product_id": (None, "Product"),
        "quantity": (None, "Units"),
        "unit_price": (None, "Shelf price per unit (yuan)"),
        "discount_amount": (None, "Discount on the line (yuan)"),
        "line_amount": (None, "quantity x unit_price - discount (yuan)"),
        "updated_at": (None, "Last status change of the order (watermark)"),
    },
}

# dataset -> [(field, type, pii class or None, description)]
FILE_FIELDS: dict[str, list[tuple[str, str, str | None, str]]] = {
    "click_events": [
        ("event_id", "string", None, "Event id"),
        ("ts", "timestamp_tz", None, "When it happened (ISO 8601, +08:00) (watermark)"),
        ("session_id", "string", None, "Browsing session"),
        (
            "user_id",
            "string",
            None,
            "E-commerce login when logged in (the account_id of ERP orders), else null",
        ),
        ("device_id", "string", None, "App or browser device id, also for anonymous visits"),
        ("event_type", "string", None, "view, click, cart or purchase"),
        ("product_id", "int64", None, "Product"),
        ("channel", "string", None, "app, web or mini_program"),
    ],
    "service_tickets": [
        ("ticket_id", "string", None, "Ticket id"),
        ("created_at", "timestamp_tz", None, "When the customer got in touch"),
        ("updated_at", "timestamp_tz", None, "Last change of the ticket (watermark)"),
        ("channel", "string", None, "hotline, email, web_form, app_chat or wechat"),
        ("contact_name", "string", "name", "Name as the customer gave it (王先生, a pinyin name...)"),
        ("contact_phone", "string", "phone", "Phone as typed or the caller's number"),
        ("contact_email", "string", "email", "E-mail as typed"),
        ("account_id", "string", None, "E-commerce login (app chat)"),
        ("member_id", "string", None, "Loyalty card number, when quoted"),
        ("order_no", "string", None, "Order the ticket is about, when the form asked"),
        ("subject", "string", None, "Subject line (e-mail and web form)"),
        (
            "text",
            "string",
            None,
            "What the customer wrote, or the agent's note of the call (zh or en); phone numbers and other "
            "PII in it are stored as tokens",
        ),
        ("status", "string", None, "open, pending, resolved or closed"),
        (
            "category",
            "string",
            None,
            "What the agent filed a resolved or closed ticket under (agents misfile some); empty while open",
        ),
    ],
    "inventory_stock": [
        ("date", "date", None, "Day (watermark)"),
        ("store_id", "int64", None, "Store"),
        ("product_id", "int64", None, "Product"),
        ("on_hand", "int64", None, "Units on the shelf at closing"),
        ("sold", "int64", None, "Units sold that day, walk-in sales included"),
        ("replenished", "int64", None, "Units received that day"),
        ("stockout", "bool", None, "1 when the day closed with nothing on the shelf, else 0"),
        ("on_order", "int64", None, "Units ordered from suppliers and not yet received at closing"),
    ],
    "promotion_calendar": [
        ("date", "date", None, "Day"),
        (
            "promotion",
            "string",
            None,
            "The sales festival the day belongs to (618, double11, double12), if any",
        ),
        ("promo_level", "int32", None, "0 ordinary day, 1 lead-in of a festival, 2 its peak day"),
        ("festival", "string", None, "spring_festival_eve (two weeks before), spring_festival (its week)"),
    ],
}

# How the lake stores each PII class of the scenario (docs/pii.md). E-mails and ID numbers are tokens only:
# OneID joins on them by equality, which tokens keep (equal canonical values, equal tokens), and no feature
# needs them in clear. Phones join on their tokens too, but a service desk must be able to call back: the
# clear number is kept encrypted beside the token, for a steward's preview (govern/clear_copies.py); OneID
# never decrypts it. Names and addresses are compared fuzzily (pinyin, Jaro-Winkler, street keys), which
# needs the text: their tokens stay in the field and the clear value is kept encrypted beside it for OneID
# to decrypt in memory.
PII_STORAGE = {"name": "encrypted", "address": "encrypted", "phone": "encrypted"}

# Free text in which customers write PII (用手机号13812345678注册的): stored with those spans as tokens, the
# same tokens as the contact fields, so a phone quoted in a ticket still joins (docs/pii.md).
REDACT: dict[str, dict[str, list[str]]] = {
    "service_tickets": {
        "subject": ["phone", "landline", "id_card", "bank_card", "email"],
        "text": ["phone", "landline", "id_card", "bank_card", "email"],
    },
}

DATASET_NOTES = {
    "crm_customers": "CRM customer master; the same person may appear twice and under another name or phone",
    "crm_loyalty_members": "Loyalty programme members; 60% linked to a CRM customer",
    "erp_products": "Product catalogue",
    "erp_stores": "Stores and e-commerce shops",
    "erp_orders": "Orders from stores and e-commerce, with the buyer's contact fields as the channel recorded them",
    "erp_order_lines": "Order lines",
    "click_events": "E-commerce clickstream (app, web, mini program), one file per month",
    "service_tickets": "Customer service tickets in Chinese and English",
    "inventory_stock": "End-of-day stock of the tracked best sellers per store, one file per month",
    "promotion_calendar": "Marketing's promotion calendar by day, planned months ahead",
}
