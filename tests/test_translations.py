"""Every user-visible string has a Chinese translation, and the catalogues compile."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = {"zh_Hans_CN": ROOT / "translations/zh_Hans_CN/LC_MESSAGES/messages.po",
              "en": ROOT / "translations/en/LC_MESSAGES/messages.po"}


def strings_in_code() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for folder, method in (("tierwise", "python"), ("templates", "jinja2")):
        method_map = [("**.py", "python")] if method == "python" else [("**.html", "jinja2")]
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / folder, method_map, keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", sorted(CATALOGUES))
def test_every_ui_string_is_translated(locale):
    with CATALOGUES[locale].open("rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue  # a plural by its singular
                  if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string])
                  and not m.fuzzy}
    missing = sorted(strings_in_code() - translated)
    assert not missing, f"untranslated in {locale} (run pybabel extract/update, then translate): {missing}"


@pytest.mark.parametrize("locale", sorted(CATALOGUES))
def test_catalogue_compiles(tmp_path, locale):
    with CATALOGUES[locale].open("rb") as handle:
        catalogue = read_po(handle)
    with (tmp_path / "messages.mo").open("wb") as out:
        write_mo(out, catalogue)
    assert (tmp_path / "messages.mo").stat().st_size > 1000


def test_every_permission_has_a_label():
    """A permission added without a label would show as its code on the home page."""
    from tierwise.platform.policy import Permission
    from tierwise.platform.web.labels import PERMISSION_LABELS

    assert sorted(set(Permission) - set(PERMISSION_LABELS)) == []


def test_every_audited_action_has_a_label():
    """The audit log names each action; one recorded without a label would show as its code."""
    from tierwise.models.registry import NOTES
    from tierwise.platform.web.labels import AUDIT_ACTION_LABELS, AUDIT_TARGET_LABELS
    from tierwise.tenants.exports import EXPORT_ACTION

    sources = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tierwise").rglob("*.py"))
    actions = set(re.findall(r'\brecord\(\s*"([a-z_]+\.[a-z_.]+)"', sources))
    actions |= {EXPORT_ACTION} | {f"model.{kind}" for kind in NOTES if kind in ("rollback", "override")}
    assert len(actions) > 25 and sorted(actions - set(AUDIT_ACTION_LABELS)) == []
    targets = set(re.findall(r'target_type="([a-z_]+)"', sources))
    assert sorted(targets - set(AUDIT_TARGET_LABELS)) == []


def test_every_category_of_the_industry_templates_has_a_label():
    """The templates' category codes (``large_venue``, ``commercial``) are shown to people by their labels."""
    from tierwise.tenants.category_labels import CATEGORY_LABELS
    from tierwise.tenants.field_templates import TEMPLATES

    codes = {code for fields in TEMPLATES.values() for f in fields for code in f.categories or ()}
    assert sorted(codes - set(CATEGORY_LABELS)) == []


def test_the_chinese_catalogue_names_each_modelling_term_one_way():
    """A reader meets one word for one thing: the tenant is 本机构/机构 (not 租户), the horizon 预测期 (not 观察期),
    customers are counted in 位 (not 个), activity is 活动记录, and a version is 设为冠军."""
    with CATALOGUES["zh_Hans_CN"].open("rb") as handle:
        catalogue = read_po(handle)
    other_words = {"租户": "本机构/机构", "观察期": "预测期", "个客户": "位客户", "活动数据": "活动记录",
                   "提升为冠军": "设为冠军"}
    found = [(word, message.id) for message in catalogue if message.id
             for text in (message.string if isinstance(message.string, tuple) else (message.string,))
             for word in other_words if word in (text or "")]
    assert not found, [f"{word} (say {other_words[word]}): {msgid}" for word, msgid in found]


@pytest.mark.parametrize("locale", sorted(CATALOGUES))
def test_each_message_is_in_the_catalogue_once(locale):
    """A message twice is said by whichever copy the compiler keeps: two merged branches each added "Left out",
    one as 未使用 and one as 未采用的字段, and the page showed the one nobody had checked against its neighbours."""
    text = CATALOGUES[locale].read_text(encoding="utf-8")
    ids = ["".join(re.findall(r'"(.*)"', entry)) for entry in
           re.findall(r'^msgid ((?:".*"\n)+)(?=msgid_plural|msgstr)', text, re.M)]
    twice = sorted({msgid for msgid in ids if msgid and ids.count(msgid) > 1})
    assert not twice, f"in {locale} more than once: {twice}"
