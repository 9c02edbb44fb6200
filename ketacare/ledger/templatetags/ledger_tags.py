"""Quantities as the ledger prints them: no trailing zeros, the unit pluralised."""

from decimal import Decimal

from django import template

from ketacare.ledger.domain.stock import fmt

register = template.Library()


@register.filter
def qty(value) -> str:
    return fmt(Decimal(value)) if value is not None and value != "" else ""


@register.filter
def unit_for(product, value) -> str:
    unit = product.get_unit_display()
    return unit + "s" if unit == "device" and Decimal(value) != 1 else unit
