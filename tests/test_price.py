"""Price against the reference price: currency conversion, the wholesale rule, bands."""

from __future__ import annotations

import pytest

from matchers.price import PriceJudge, load_rates
from registry import Money

JACKET = Money(1299, "CNY")


def listing(price, currency="CNY", platform="taobao", moq=None, price_max=None):
    return {
        "platform": platform,
        "price_min": price,
        "price_max": price_max,
        "currency": currency,
        "moq": moq,
    }


def test_ratio_is_listing_price_over_reference():
    sig = PriceJudge().judge(listing(129.9), JACKET)
    assert sig.raw_ratio == pytest.approx(0.1) and sig.band == "absurd" and not sig.wholesale
    assert sig.describe() == "price 10% of reference"


def test_bands():
    judge = PriceJudge()
    assert judge.judge(listing(300), JACKET).band == "absurd"
    assert judge.judge(listing(600), JACKET).band == "low"
    assert judge.judge(listing(1199), JACKET).band == "normal"


def test_highest_price_of_a_range_is_used():
    sig = PriceJudge().judge(listing(19, price_max=1299), JACKET)
    assert sig.band == "normal"


def test_currency_is_converted_with_the_rate_table():
    judge = PriceJudge(rates={"USD": 7.0})
    sig = judge.judge(listing(100, "USD", platform="taobao"), JACKET)
    assert sig.unit_price == pytest.approx(700)
    assert judge.convert(10, "CNY", "USD") == pytest.approx(10 / 7.0)


def test_unknown_currency_or_missing_price_gives_no_signal():
    judge = PriceJudge()
    assert judge.judge(listing(100, "XXX"), JACKET) is None
    assert judge.judge(listing(None), JACKET) is None
    assert judge.judge(listing(100), None) is None


def test_wholesale_prices_on_1688_and_alibaba_are_compared_with_the_expected_wholesale_share():
    judge = PriceJudge()
    retail = judge.judge(listing(300, platform="taobao"), JACKET)
    wholesale = judge.judge(listing(300, platform="1688", moq=2), JACKET)
    assert retail.band == "absurd"
    assert (
        wholesale.wholesale and wholesale.band == "low"
    )  # 23% of retail is 38% of the expected wholesale price
    assert wholesale.ratio == pytest.approx(wholesale.raw_ratio / 0.6)
    bulk = judge.judge(listing(300, platform="alibaba", currency="CNY", moq=500), JACKET)
    assert bulk.ratio == pytest.approx(bulk.raw_ratio / 0.5)
    assert judge.judge(listing(60, platform="1688", moq=10), JACKET).band == "absurd"


def test_moq_above_one_counts_as_wholesale_anywhere():
    assert PriceJudge().judge(listing(300, platform="taobao", moq=20), JACKET).wholesale


def test_rate_file_override(tmp_path):
    path = tmp_path / "rates.yaml"
    path.write_text("rates:\n  usd: 6.5\n", encoding="utf-8")
    assert load_rates(path) == {"USD": 6.5}
    assert PriceJudge(rates=load_rates(path)).rates["USD"] == 6.5


def test_a_rates_file_that_is_not_yaml_is_a_value_error_saying_where(tmp_path):
    path = tmp_path / "rates.yaml"
    path.write_text("rates: {usd: [6.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"(?s)not YAML.*rates.yaml.*line 2"):
        load_rates(path)
