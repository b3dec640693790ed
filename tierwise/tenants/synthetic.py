"""Synthetic but plausible customer data for the demo tenants and for benchmarks.

Reproducible from a seed, generated vectorised in chunks of customers so any
size streams to CSV in bounded memory.  Value is drawn from a heavy-tailed
(lognormal) distribution, so the 80/20 share comes out of the data rather than
being imposed; some customers churn (their activity stops), some complain in
bursts, and utilities have hospitals with low usage.

Who leaves is not drawn at random: each industry's customers carry the drivers
real tenants report (few products and a short tenure at a bank; arrears long
overdue at a business on the grid; overdue receivables or a quality incident at
a pharmacy or hospital), and some leavers complain in the months before they
go.  Drivers act together and through thresholds, as they do in real books, so
a churn model has something to learn beyond the fade before an account stops.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力宁彬斌俊波晨阳浩宇欣怡子涵梓轩")
COMPANY_WORDS = ["华东", "恒通", "金盛", "瑞丰", "长江", "新元", "广源", "天成", "中联", "宏达", "锦程", "嘉和"]
COMPANY_KINDS = ["实业有限公司", "科技有限公司", "贸易有限公司", "制造有限公司", "物流有限公司", "置业有限公司"]
CHANNELS = np.array(["phone", "counter", "web", "app", "sms", "email", "social_media", "news_media",
                     "regulator_hotline", "other"])
CHANNEL_WEIGHTS = np.array([0.38, 0.14, 0.1, 0.12, 0.03, 0.03, 0.08, 0.03, 0.07, 0.02])
TYPES = np.array(["complaint", "request", "opinion", "praise"])
TYPE_WEIGHTS = np.array([0.45, 0.35, 0.12, 0.08])


@dataclass(frozen=True)
class Batch:
    customers: pd.DataFrame
    activity: pd.DataFrame
    interactions: pd.DataFrame


BILL_DAY = 14  # days after the month's start: each month's row falls on its 15th


def month_starts(months: int, end: date) -> pd.DatetimeIndex:
    """The starts of the ``months`` months whose rows fall on or before ``end``: nothing in the future."""
    last = pd.Timestamp(end.year, end.month, 1)
    if end.day <= BILL_DAY:
        last -= pd.DateOffset(months=1)  # this month's bill is not out yet
    return pd.date_range(end=last, periods=months, freq="MS")


def _names(rng: np.random.Generator, n: int, organisation: np.ndarray) -> np.ndarray:
    people = (rng.choice(SURNAMES, n).astype(object) + rng.choice(GIVEN, n).astype(object)
              + np.where(rng.random(n) < 0.6, rng.choice(GIVEN, n), "").astype(object))
    companies = (rng.choice(["上海", "南京", "杭州", "苏州", "合肥", "宁波"], n).astype(object)
                 + rng.choice(COMPANY_WORDS, n).astype(object) + rng.choice(COMPANY_KINDS, n).astype(object))
    return np.where(organisation, companies, people)


def _assign(rng, n, options: list[str] | None) -> np.ndarray:
    return rng.choice(options, n) if options else np.full(n, "", dtype=object)


def _monthly(ids: np.ndarray, months: pd.DatetimeIndex, base: np.ndarray, season: np.ndarray,
             active_months: np.ndarray, rng, noise: float, category: str, quantity: np.ndarray | None = None):
    """One row per customer and month while the customer is active.

    Most customers who leave fade first: their last three months shrink toward
    the stop, as real accounts do before they close.
    """
    n, t = len(ids), len(months)
    keep = (np.arange(t)[None, :] < active_months[:, None]).ravel()
    to_stop = active_months[:, None] - np.arange(t)[None, :]
    fading = (active_months < t)[:, None] & (rng.random(n) < 0.7)[:, None] & (to_stop >= 1) & (to_stop <= 3)
    amount = (base[:, None] * season[None, :] * rng.lognormal(0, noise, (n, t))
              * np.where(fading, 0.25 + 0.25 * (to_stop - 1), 1.0)).ravel()
    frame = pd.DataFrame({
        "customer": np.repeat(ids, t),
        "occurred_at": np.tile((months + pd.Timedelta(days=BILL_DAY)).strftime("%Y-%m-%d"), n),
        "amount": np.round(amount, 2),
        "category": category,
    })
    if quantity is not None:
        frame["quantity"] = np.round((quantity[:, None] * season[None, :] * rng.lognormal(0, noise, (n, t))).ravel(), 1)
    return frame[keep]


def _interactions(ids: np.ndarray, months: pd.DatetimeIndex, rng, rate: float,
                  leaving: np.ndarray | None = None) -> pd.DataFrame:
    """Requests, opinions, praise and complaints over the period.

    ``leaving`` holds, per customer, the month whose bill never came for a leaver who
    complained first (-1 for everyone else): one complaint, seldom resolved, lands in
    the ten weeks before that bill was due.
    """
    n = len(ids)
    counts = rng.poisson(rate, n)
    bursty = rng.random(n) < 0.006  # a few accounts complain again and again
    counts = counts + np.where(bursty, rng.integers(3, 9, n), 0)
    before_leaving = np.zeros(n, dtype=bool) if leaving is None else leaving >= 0
    counts = counts + before_leaving
    who = np.repeat(np.arange(n), counts)
    total = len(who)
    if total == 0:
        return pd.DataFrame(columns=["customer", "occurred_at", "channel", "type", "severity", "resolved_at", "summary"])
    span_days = (months[-1] - months[0]).days + BILL_DAY  # up to the last bill's day, not past it
    day = rng.integers(0, span_days, total)
    day = np.where(bursty[who], span_days - rng.integers(1, 45, total), day)  # bursts are recent
    # each leaver's last interaction is the complaint before leaving (``who`` is sorted by customer)
    last = np.r_[who[1:] != who[:-1], True] & before_leaving[who]
    if last.any():
        due = (months[np.clip(leaving[who[last]], 0, len(months) - 1)] - months[0]).days + BILL_DAY
        day[last] = np.clip(due - rng.integers(7, 70, int(last.sum())), 0, span_days - 1)
    occurred = months[0] + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.integers(8 * 60, 20 * 60, total), unit="m")
    kind = rng.choice(TYPES, total, p=TYPE_WEIGHTS)
    kind = np.where(bursty[who] | last, "complaint", kind)
    channel = rng.choice(CHANNELS, total, p=CHANNEL_WEIGHTS)
    severity = np.where(kind == "complaint", rng.integers(2, 6, total), rng.integers(1, 3, total))
    unresolved = (kind == "complaint") & (rng.random(total) < np.where(last, 0.7, 0.25))
    resolved = occurred + pd.to_timedelta(rng.integers(1, 20, total), unit="D")
    unresolved |= resolved > months[-1] + pd.Timedelta(days=BILL_DAY)  # not resolved by the data's end
    return pd.DataFrame({
        "customer": ids[who],
        "occurred_at": occurred.strftime("%Y-%m-%d %H:%M"),
        "channel": channel,
        "type": kind,
        "severity": severity,
        "resolved_at": np.where(unresolved, "", resolved.strftime("%Y-%m-%d %H:%M")),
        "summary": np.where(kind == "complaint", "服务投诉", np.where(kind == "praise", "表扬", "业务咨询")),
    })


def _churn(rng, n: int, t: int, share: float, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active months per customer, the churn flag, and the month a complaint came before leaving.

    About ``share`` of the customers leave at some point of the period, at an even
    monthly rate after its first quarter (so every past cutoff has leavers).  Each
    customer's chance is in proportion to ``risk``, the product of its drivers; a
    third of leavers complain in the weeks before they go (-1 where none does).
    """
    chance = np.clip(share * risk / risk.mean(), 0.0, 0.9)
    churned = rng.random(n) < chance
    stop = rng.integers(max(2, t // 4), t, n) if t > 2 else np.full(n, t)
    active = np.where(churned, stop, t)
    return active, churned, np.where(churned & (rng.random(n) < 0.35), active, -1)


def bank_batch(rng, ids, months, branches, rms) -> Batch:
    n, t = len(ids), len(months)
    organisation = rng.random(n) < 0.08
    wealth = rng.lognormal(11.0, 1.5, n) * np.where(organisation, 8, 1)
    products = rng.integers(1, 9, n)
    tenure = np.round(rng.gamma(2.0, 3.0, n), 1)
    # a new customer who came for one or two products (a promotion's deposit) has little
    # to keep them; six products or more tie a customer in
    risk = np.where((products <= 2) & (tenure < 2), 5.0, 1.0) * np.where(products >= 6, 0.5, 1.0)
    active, churned, complained = _churn(rng, n, t, 0.15, risk)
    season = 1 + 0.25 * np.isin(months.month, [1, 2]) + 0.15 * np.isin(months.month, [11, 12])
    spend_base = wealth * rng.uniform(0.004, 0.02, n)
    customers = pd.DataFrame({
        "external_id": ids, "name": _names(rng, n, organisation),
        "party_type": np.where(organisation, "organisation", "individual"),
        "branch_code": _assign(rng, n, branches), "rm_email": _assign(rng, n, rms),
        "status": np.where(churned, "dormant", "active"),
        # the outcome, where the bank recorded it, under the column name an import maps by itself
        "churn_label": np.where(churned & (rng.random(n) < 0.7), "yes", np.where(rng.random(n) < 0.5, "no", "")),
        "aum_avg_3m": np.round(wealth * np.where(churned, 0.3, 1.0), 2),
        "fx_avg_3m": np.round(np.where(rng.random(n) < 0.15, wealth * rng.uniform(0.05, 0.3, n), 0), 2),
        "card_spend_12m": np.round(spend_base * 12, 2),
        "loan_balance": np.round(np.where(rng.random(n) < 0.2, wealth * rng.uniform(0.2, 3, n), 0), 2),
        "products_held": products,
        "tenure_years": tenure,
        "occupation": rng.choice(["business_owner", "property_investor", "professional_investor", "executive",
                                  "other"], n, p=[0.1, 0.05, 0.05, 0.1, 0.7]),
    })
    deposits = _monthly(ids, months, wealth * 0.05, season, active, rng, 0.5, "deposit")
    spend = _monthly(ids, months, spend_base, season, active, rng, 0.6, "card_spend")
    return Batch(customers, pd.concat([deposits, spend]), _interactions(ids, months, rng, 0.25, complained))


def power_batch(rng, ids, months, branches, rms) -> Batch:
    n, t = len(ids), len(months)
    usage = rng.choice(["residential", "commercial", "industrial"], n, p=[0.55, 0.33, 0.12])
    facility = np.where(rng.random(n) < 0.06, rng.choice(
        ["hospital", "government", "military", "mine", "hazardous_chemicals", "transport_hub", "school",
         "large_venue", "data_centre"], n), "other")
    scale = {"residential": 9.0, "commercial": 10.5, "industrial": 12.5}
    kwh = rng.lognormal(np.vectorize(scale.get)(usage), 1.0, n)
    low_usage_hospital = (facility == "hospital") & (rng.random(n) < 0.4)
    kwh = np.where(low_usage_hospital, kwh * 0.05, kwh)
    consequence = np.select([np.isin(facility, ["hospital", "hazardous_chemicals", "mine", "military"]),
                             np.isin(facility, ["government", "transport_hub", "data_centre"]),
                             np.isin(facility, ["school", "large_venue"])], [5, 4, 3], default=1)
    tariff = np.where(usage == "residential", 0.56, np.where(usage == "commercial", 0.82, 0.68))
    season = 1 + 0.3 * np.isin(months.month, [7, 8]) + 0.2 * np.isin(months.month, [12, 1])
    arrears = rng.random(n) < 0.05
    arrears_days = np.where(arrears, rng.integers(15, 200, n), 0)
    # households move, small shops close; a business whose bills are months overdue is
    # failing; hospitals, mines and government sites stay connected
    small_shop = (usage == "commercial") & (kwh < np.exp(scale["commercial"]))
    risk = (np.select([small_shop, usage == "commercial", usage == "industrial"], [3.0, 1.2, 0.6], 0.7)
            * np.where(arrears_days > 90, np.where(usage == "residential", 2.0, 6.0), 1.0)
            * np.where(facility == "other", 1.0, 0.1))
    active, churned, complained = _churn(rng, n, t, 0.08, risk)
    customers = pd.DataFrame({
        "external_id": ids, "name": _names(rng, n, usage != "residential"),
        "party_type": np.where(usage == "residential", "individual", "organisation"),
        "branch_code": _assign(rng, n, branches), "rm_email": _assign(rng, n, rms),
        "status": np.where(churned, "closed", "active"),
        "usage_category": usage,
        "voltage_class": np.where(usage == "industrial", rng.choice(["10kv", "35kv", "110kv"], n),
                                  np.where(usage == "commercial", "380v", "220v")),
        "contracted_capacity_kva": np.round(kwh / 1200 * rng.uniform(1, 2, n), 0),
        "kwh_12m": np.round(kwh, 0), "bill_amount_12m": np.round(kwh * tariff, 2),
        "facility_type": facility, "outage_consequence": consequence,
        "arrears_amount": np.round(np.where(arrears, kwh * tariff * rng.uniform(0.02, 0.3, n), 0), 2),
        "arrears_days": arrears_days,
        "illegal_use": np.where(rng.random(n) < 0.004, "yes", "no"),
    })
    bills = _monthly(ids, months, kwh * tariff / 12, season, active, rng, 0.15, "bill", quantity=kwh / 12)
    return Batch(customers, bills, _interactions(ids, months, rng, 0.12, complained))


def pharma_batch(rng, ids, months, branches, rms) -> Batch:
    n, t = len(ids), len(months)
    account = rng.choice(["tertiary_hospital", "other_hospital", "pharmacy_chain", "single_pharmacy", "clinic"],
                         n, p=[0.05, 0.15, 0.1, 0.4, 0.3])
    scale = {"tertiary_hospital": 15.0, "other_hospital": 13.5, "pharmacy_chain": 13.8, "single_pharmacy": 11.0,
             "clinic": 10.5}
    revenue = rng.lognormal(np.vectorize(scale.get)(account), 0.9, n)
    hospital = np.isin(account, ["tertiary_hospital", "other_hospital"])
    overdue = rng.random(n) < 0.12
    terms = np.select([account == "tertiary_hospital", hospital, account == "pharmacy_chain"], [180, 120, 60], 30)
    incidents = rng.poisson(0.1, n)
    # single pharmacies and clinics consolidate; credit stopped over overdue bills ends
    # a small account; a hospital changes supplier after a quality incident
    risk = (np.select([np.isin(account, ["single_pharmacy", "clinic"]), account == "pharmacy_chain"], [1.4, 0.5], 0.4)
            * np.where(overdue & ~hospital, 3.0, 1.0) * np.where(hospital & (incidents > 0), 5.0, 1.0))
    active, churned, complained = _churn(rng, n, t, 0.2, risk)
    season = 1 + 0.2 * np.isin(months.month, [1, 12]) - 0.1 * np.isin(months.month, [2])
    customers = pd.DataFrame({
        "external_id": ids, "name": _names(rng, n, np.ones(n, dtype=bool)),
        "party_type": "organisation", "branch_code": _assign(rng, n, branches), "rm_email": _assign(rng, n, rms),
        "status": np.where(churned, "dormant", "active"), "account_type": account,
        "revenue_12m": np.round(revenue, 2), "gross_margin_12m": np.round(revenue * rng.uniform(0.05, 0.18, n), 2),
        "orders_12m": rng.poisson(np.clip(revenue / 20000, 1, 400)),
        # hospitals on long terms (tertiary 180 days), chains 60, single pharmacies and clinics 30, each paying
        # around its terms (the same draws as before the terms existed: the rest of the data is unchanged)
        "payment_terms_days": terms,
        "dso_days": np.round(np.where(hospital, terms + (rng.normal(150, 40, n) - 150) * 0.5,
                                      terms + rng.normal(45, 15, n) - 45).clip(5), 0),
        "overdue_receivables": np.round(np.where(overdue, revenue * rng.uniform(0.01, 0.2, n), 0), 2),
        "returns_rate": np.round(rng.beta(1.2, 40, n), 4),
        "quality_incidents": incidents,
        "sales_rep": rng.choice(["代表A", "代表B", "代表C", "代表D"], n),
    })
    orders = _monthly(ids, months, revenue / 12, season, active, rng, 0.4, "order")
    return Batch(customers, orders, _interactions(ids, months, rng, 0.2, complained))


GENERATORS = {"bank": bank_batch, "power_utility": power_batch, "pharma_distributor": pharma_batch}
ID_PREFIX = {"bank": "62", "power_utility": "31", "pharma_distributor": "P"}


def generate(industry: str, customers: int, *, months: int = 24, seed: int = 7, end: date | None = None,
             branches: list[str] | None = None, rms: list[str] | None = None,
             chunk_customers: int = 50_000) -> Iterator[Batch]:
    """Batches of customers with their activity and interactions (same seed, same data)."""
    if industry not in GENERATORS:
        raise ValueError(f"no generator for industry '{industry}' (choose one of: {', '.join(GENERATORS)})")
    rng = np.random.default_rng(seed)
    period = month_starts(months, end or date.today())
    width = max(8, len(str(customers)) + 2)
    for start in range(0, customers, chunk_customers):
        count = min(chunk_customers, customers - start)
        numbers = np.arange(start + 1, start + count + 1)
        ids = np.char.add(ID_PREFIX[industry], np.char.zfill(numbers.astype(str), width)).astype(object)
        yield GENERATORS[industry](rng, ids, period, branches, rms)


def write_csv(industry: str, customers: int, out: Path, **options) -> dict[str, int]:
    """Write customers.csv, activity.csv and interactions.csv under ``out``; returns row counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {"customers": 0, "activity": 0, "interactions": 0}
    for index, batch in enumerate(generate(industry, customers, **options)):
        for name, frame in (("customers", batch.customers), ("activity", batch.activity),
                            ("interactions", batch.interactions)):
            frame.to_csv(out / f"{name}.csv", mode="w" if index == 0 else "a", header=index == 0, index=False)
            counts[name] += len(frame)
    return counts
