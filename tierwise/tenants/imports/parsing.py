"""Vectorised parsing of text cells into typed columns, as real exports write them.

Every parser takes a Series of stripped strings ('' = empty) and returns the
parsed Series plus a boolean mask of cells that are not empty but could not be
parsed.  Numbers accept thousands separators and currency signs; a comma must
group thousands (``1,234.5``), since read as a separator a decimal comma
(``1234,5``, ``1,5``) would silently make the number 10 or 100 times larger, so
such a cell is refused (``decimal_comma`` finds them to say why).  Dates accept
``2024-01-05``, ``2024/1/5``, ``2024.1.5``, ``20240105`` and ``2024年1月5日``,
with an optional time.  A month written alone, as bills and statements write
their period (账期 ``2024年01月``, ``2024-01``, ``2024/1``, ``2024.01``,
``202401``), is its first day: six digits are a month, never a day, and a
month that is not 01 to 12 is refused (``impossible_months`` finds them to say
why).
"""
from __future__ import annotations

import pandas as pd

# Besides yes and no, how a complaint register says whether a complaint was closed (是否办结: 已办结, 处理中)
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "对", "√", "有", "已办结", "已解决", "已结案"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", "错", "×", "无", "未办结", "未解决", "处理中", "办理中",
                         "待处理", "未处理"})
_NUMBER_NOISE = r"[\s'_¥￥$]"
_GROUPED = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"  # 1,234 and -12,345.67: the first group 1-3 digits, then threes
_SEPARATED_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")
_COMPACT_FORMATS = ("%Y%m%d",)
_DATE_FORMATS = _SEPARATED_FORMATS + _COMPACT_FORMATS
# A month alone: 2024年01月 (or 1月份), 2024-01, 2024/1, 2024.01, 202401.  Only whole cells: 2024-01-05 is no month.
_MONTH = r"^(\d{4})(?:[ \u3000]*年[ \u3000]*(\d{1,2})[ \u3000]*月份?|[-/.](\d{1,2})|(\d{2}))$"
_MONTH_MARKS = str.maketrans("", "", "年月份-/. \u3000")  # what a month cell holds besides its digits


def empty(values: pd.Series) -> pd.Series:
    return values == ""


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    # Plain numbers take the fast path; only cells that fail it are cleaned of separators and signs.
    parsed = pd.to_numeric(values, errors="coerce").astype("float64")
    retry = parsed.isna() & ~empty(values)
    if retry.any():
        cleaned = _without_noise(values[retry])
        negative = cleaned.str.match(r"^\(.*\)$")  # accounting negatives: (1,234.50)
        digits = cleaned.str.strip("()")
        slow = pd.to_numeric(digits.str.replace(",", "", regex=False), errors="coerce").astype("float64")
        slow = slow.where(~_misgrouped(digits))
        parsed[retry] = slow.where(~negative, -slow)
    bad = ~empty(values) & ~(parsed.abs() < 1e15)  # NaN and infinities fail the comparison
    return parsed.where(~bad), bad


def too_large(values: pd.Series) -> pd.Series:
    """Cells that are numbers, but past what an amount can be (``parse_number`` refuses 1e15 and more)."""
    return pd.to_numeric(values, errors="coerce").abs().ge(1e15).fillna(False).astype(bool)


def decimal_comma(values: pd.Series) -> pd.Series:
    """Cells with a comma that does not group thousands (``1234,5``, ``1,5``, ``1.234,5``)."""
    return _misgrouped(_without_noise(values).str.strip("()"))


def _without_noise(values: pd.Series) -> pd.Series:
    """Spaces, currency signs and other thousands marks removed; a full-width comma made a comma."""
    return values.str.replace(_NUMBER_NOISE, "", regex=True).str.replace("，", ",", regex=False)


def _misgrouped(digits: pd.Series) -> pd.Series:
    return digits.str.contains(",", regex=False) & ~digits.str.fullmatch(_GROUPED)


def parse_integer(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed, bad = parse_number(values)
    fractional = parsed.notna() & (parsed != parsed.round())
    bad = bad | fractional
    return parsed.where(~bad).astype("Int64"), bad


def parse_boolean(values: pd.Series, aliases: dict[str, str] | None = None) -> tuple[pd.Series, pd.Series]:
    """Yes/no words in either language; ``aliases`` maps a target's own words to one (Attrited Customer: yes)."""
    lowered = values.str.lower()
    if aliases:
        lowered = lowered.replace(aliases)
    parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
    parsed[lowered.isin(TRUE_WORDS)] = True
    parsed[lowered.isin(FALSE_WORDS)] = False
    bad = ~empty(values) & parsed.isna()
    return parsed, bad


def _normalise_dates(values: pd.Series) -> pd.Series:
    text = values.str.replace("年", "-", regex=False).str.replace("月", "-", regex=False)
    text = text.str.replace("日", " ", regex=False).str.replace("号", " ", regex=False)
    text = text.str.replace(r"[/.]", "-", regex=True).str.replace("时", ":", regex=False).str.replace("分", ":", regex=False)
    return text.str.replace(r"[秒]", "", regex=True).str.replace(r"\s+", " ", regex=True).str.strip().str.rstrip(":")


# What a nanosecond timestamp holds, a day short at each end so no time zone takes it past: a year such as
# 1000 (a typo) parses, but setting it into the column would raise instead of refusing the cell.
_READABLE = (pd.Timestamp("1677-09-23"), pd.Timestamp("2262-04-10"))


def _readable(moments: pd.Series) -> pd.Series:
    low, high = _READABLE if moments.dt.tz is None else (t.tz_localize("UTC") for t in _READABLE)
    return moments.where(moments.between(low, high))


def _try_formats(text: pd.Series, parsed: pd.Series, pending: pd.Series,
                 formats: tuple[str, ...] = _DATE_FORMATS) -> pd.Series:
    """Fill ``parsed`` where a format matches; returns what is still pending."""
    for fmt in formats:
        if not pending.any():
            break
        attempt = _readable(pd.to_datetime(text[pending], format=fmt, errors="coerce"))
        parsed[attempt.index] = parsed[attempt.index].where(attempt.isna(), attempt)
        pending = pending & parsed.isna()
    return pending


def _month_parts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The year and month, as written, of cells written as a month alone (NA elsewhere)."""
    found = values.str.extract(_MONTH)
    return found[0], found[1].fillna(found[2]).fillna(found[3])


def _read_months(values: pd.Series, parsed: pd.Series, pending: pd.Series) -> pd.Series:
    """Fill ``parsed`` with the first day of cells written as a month; returns what is still pending.

    A cell shaped like a month is settled here even when its month is 13: read on as a day, ``202413``
    would be 2024-01-03 (``%Y%m%d`` takes a one-digit month), and ``202411`` 2024-01-01, not November.
    """
    shaped = pending.copy()
    shaped[pending] = values[pending].str.fullmatch(_MONTH).fillna(False).astype(bool)
    if not shaped.any():
        return pending
    digits = values[shaped].str.translate(_MONTH_MARKS)  # 2024年1月 -> 20241: the year is 4 digits, the rest the month
    firsts = pd.to_datetime(digits.str.slice(0, 4) + "-" + digits.str.slice(4) + "-01", format="%Y-%m-%d",
                            errors="coerce")
    parsed[firsts.index] = _readable(firsts)  # month 13 does not parse: NaT, refused
    return pending & ~shaped


def impossible_months(values: pd.Series) -> pd.Series:
    """The month as written (``13`` of ``202413``, ``00`` of ``2024年00月``) of cells written as a month
    alone whose month is not 01 to 12; NA elsewhere."""
    _, written = _month_parts(values)
    impossible = written.notna() & ~pd.to_numeric(written).between(1, 12).fillna(False).astype(bool)
    return written.where(impossible)


# A date written with its year last (12/1/2010 8:26, 01.12.2010), as US and European exports write them.
_YEAR_LAST = r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?$"


def year_last(values: pd.Series) -> pd.Series:
    """Cells written as a date with the year last (``12/1/2010 8:26``): whether the day or the month comes
    first cannot be told from a cell (1 December or 12 January?).  The file as a whole may tell
    (``year_last_order``); where it does not, they are refused, saying how to write them, rather than
    read one way and silently wrong for the other."""
    return values.str.match(_YEAR_LAST).fillna(False).astype(bool)


MONTH_FIRST, DAY_FIRST = "mdy", "dmy"


def year_last_order(values: pd.Series) -> tuple[bool, bool]:
    """Whether ``values``' year-last cells show the month first (a second part past 12: 12/13/2010) and
    whether they show the day first (a first part past 12: 13/12/2010)."""
    parts = values[year_last(values)].str.extract(r"^(\d{1,2})[/.\-](\d{1,2})")
    if parts.empty:
        return False, False
    return bool((parts[1].astype(int) > 12).any()), bool((parts[0].astype(int) > 12).any())


def year_first(values: pd.Series, order: str) -> pd.Series:
    """Year-last cells written year first in the file's ``order`` (``MONTH_FIRST``: 12/13/2010 8:26 ->
    2010-12-13 8:26); every other cell as it is.  A cell the order makes impossible (13/13/2010)
    stays impossible, and is refused as not a date."""
    hit = year_last(values)
    if not hit.any():
        return values
    parts = values[hit].str.extract(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(.*)$")
    month, day = (parts[0], parts[1]) if order == MONTH_FIRST else (parts[1], parts[0])
    rewritten = values.copy()
    rewritten[hit] = parts[2] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + _on_24_hours(parts[3])
    return rewritten


def _on_24_hours(times: pd.Series) -> pd.Series:
    """`` 8:26 PM`` as `` 20:26``: a US export writes its year-last dates' times on a 12-hour clock, which no
    year-first format reads.  An hour that is not 1 to 12 stays as written, and is refused as no time."""
    clock = times.str.extract(r"^[ T](\d{1,2})(:\d{2}(?::\d{2})?)\s*([AaPp][Mm])$")
    hour = pd.to_numeric(clock[0], errors="coerce")
    twelve = hour.between(1, 12)
    if not twelve.any():
        return times
    on_24 = (hour[twelve] % 12 + 12 * clock[2][twelve].str.lower().eq("pm")).astype(int).astype(str).str.zfill(2)
    return times.where(~twelve, " " + on_24 + clock[1][twelve])


# ISO 8601 with its offset, as the API writes times (2026-12-07T05:39:19.845450+00:00, ...Z): a moment, not
# a local time, so it is read as written and never put on the tenant's clock.
_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"


def parse_datetime(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Naive local times in the tenant's ``timezone`` -> UTC timestamps; times with an offset keep theirs."""
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    pending = _try_formats(values, parsed, ~empty(values), _SEPARATED_FORMATS)  # ISO text needs no normalising
    if pending.any():  # months before 20240105 and the normalised spellings, which would read 202411 as a day
        pending = _read_months(values, parsed, pending)
    if pending.any():
        pending = _try_formats(values, parsed, pending, _COMPACT_FORMATS)
    offset = pd.Series(False, index=values.index)
    if pending.any():  # only cells the plain formats did not read can carry an offset: the rest pay nothing
        offset[pending] = values[pending].str.match(_WITH_OFFSET).fillna(False).astype(bool)
        pending = pending & ~offset
    if pending.any():
        _try_formats(_normalise_dates(values.where(pending, "")), parsed, pending)
    localised = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    if offset.any():
        moments = _readable(pd.to_datetime(values[offset].str.replace(" ", "T", n=1, regex=False), utc=True,
                                           format="ISO8601", errors="coerce"))
        localised[offset] = moments
    bad = ~empty(values) & localised.isna()
    return localised, bad


def parse_date(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed, bad = parse_datetime(values, "UTC")
    has_time = parsed.notna() & (parsed.dt.normalize() != parsed)
    bad = bad | has_time
    return parsed.dt.date.where(~bad & parsed.notna(), None), bad


def parse_category(values: pd.Series, allowed: frozenset[str] | None,
                   aliases: dict[str, str] | None = None) -> tuple[pd.Series, pd.Series]:
    """Codes are matched case-insensitively; ``aliases`` maps other spellings (e.g. 对公) to codes."""
    lowered = values.str.lower()
    if aliases:
        lowered = lowered.replace({k.lower(): v for k, v in aliases.items()})
    if allowed is None:
        return values.where(~empty(values), None), pd.Series(False, index=values.index)
    bad = ~empty(values) & ~lowered.isin(allowed)
    return lowered.where(~bad & ~empty(values), None), bad


# Characters no one can see (zero-width spaces and joiners, direction marks and overrides, the BOM, soft
# hyphens) and control characters: in an id they make a look-alike of another customer's.
INVISIBLE = r"[\x00-\x1f\x7f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"


def parse_id(values: pd.Series, max_length: int) -> tuple[pd.Series, pd.Series]:
    """A customer's id: text of at most ``max_length`` characters, none of them invisible."""
    text, bad = parse_text(values, max_length)
    return text, bad | values.str.contains(INVISIBLE, regex=True).fillna(False).astype(bool)


def parse_text(values: pd.Series, max_length: int) -> tuple[pd.Series, pd.Series]:
    bad = values.str.len() > max_length
    return values.where(~empty(values), None), bad
