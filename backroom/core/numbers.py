"""Document numbers (orders, purchase orders, receipts), chosen by the server."""

import uuid

NUMBER_OFFSET = 1000


def placeholder_number() -> str:
    """Return a unique stand-in number for a row whose real number needs its id first."""
    return "~" + uuid.uuid4().hex[:16]


def document_number(prefix: str, pk: int) -> str:
    return f"{prefix}{NUMBER_OFFSET + pk}"
