"""The one CSV writer (core/csv_export.py): codes or headings in one header row,
yuan with two decimals, the shop's zone in ISO 8601, formulas written as text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from core.csv_export import Column, csv_text, safe_cell, shop_time, yuan

COLUMNS = (Column("product", "商品"), Column("amount_yuan", "金额（元）"))


@pytest.mark.parametrize("typed", ["=1+2", "+86 138", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                                   '=HYPERLINK("http://x","y")'])
def test_a_formula_is_written_as_text(typed):
    assert safe_cell(typed) == "'" + typed
    rows = list(csv.reader(io.StringIO(csv_text(COLUMNS, [[typed, "1.00"]])[1:])))
    assert rows[1][0] == "'" + typed


@pytest.mark.parametrize("value", ["盘扣", "a=b", "", 12, -3, None])
def test_other_values_are_left_alone(value):
    assert safe_cell(value) == value


def test_one_header_row_of_codes_or_of_headings():
    text = csv_text(COLUMNS, [["盘扣", yuan(12800)]])
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [["product", "amount_yuan"],
                                                       ["盘扣", "128.00"]]
    local = csv_text(COLUMNS, [["盘扣", yuan(5)]], local=True)
    assert list(csv.reader(io.StringIO(local[1:]))) == [["商品", "金额（元）"], ["盘扣", "0.05"]]


def test_money_and_times():
    assert [yuan(0), yuan(-12345), yuan(100)] == ["0.00", "-123.45", "1.00"]
    assert shop_time(datetime(2026, 12, 7, 12, 5, 9, 123, tzinfo=UTC)) == (
        "2026-12-07T20:05:09+08:00")
    assert shop_time(None) == ""
