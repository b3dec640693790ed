"""Rule sets as YAML files: what ``tierwise rules export`` writes and ``tierwise rules apply`` reads.

The YAML is the stored definition, keys in a stable order and Chinese labels
left readable, so a file exported, edited and applied again shows only the
lines the admin changed.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from flask_babel import gettext as _

from tierwise.errors import ValidationError
from tierwise.tenants.imports.reading import SAMPLE_BYTES, detect_encoding


def dump(definition: dict) -> str:
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=120)


def read(path: Path) -> dict:
    """The rule set in the file at ``path``, in whatever encoding an editor saved it.

    Windows PowerShell writes ``tierwise rules export > rules.yaml`` as UTF-16, and
    Chinese editors save GBK: the file's encoding is found as an import's is (a BOM,
    else UTF-8, else GB18030), and a file that is none of them is refused in words.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode(detect_encoding(raw[:SAMPLE_BYTES], raw))
    except (ValidationError, UnicodeDecodeError):  # no text at all, a BOM that lied, a character cut in two
        raise ValidationError(_("the file is neither UTF-8, UTF-16 nor GBK/GB18030 text"), field="file") from None
    return load(text)


def load(text: str) -> dict:
    """The mapping in ``text``; ValidationError naming the line for YAML that cannot be read."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        if mark:
            raise ValidationError(_("line %(line)s, column %(column)s: not valid YAML (%(problem)s)",
                                    line=mark.line + 1, column=mark.column + 1, problem=problem),
                                  field="file") from None
        raise ValidationError(_("not valid YAML (%(problem)s)", problem=problem), field="file") from None
    if not isinstance(data, dict):
        raise ValidationError(_("the file must hold a rule set: a mapping with 'dimensions'"), field="file")
    return data
