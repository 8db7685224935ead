"""Keep each package's Chinese catalog in step with its source.

    python -m core.translations_tool          # extract and update every .po
    python -m core.translations_tool --check  # exit 1 if a string lacks Chinese
    python -m core.translations_tool --fill PACKAGE < zh.json   # {"msgid": "中文"}

Each package (core, accounts, catalog, shop, livestream) has its own catalog under
<package>/translations/, built from its Python files and templates/<package>/.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from core.config import PROJECT_ROOT
from core.i18n import TRANSLATION_PACKAGES

TARGET_LOCALE = "zh_Hans_CN"
PYTHON_MAP = [("**.py", "python")]
TEMPLATE_MAP = [("**.html", "jinja2"), ("**.txt", "jinja2"), ("**.ics", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n"},
           "**.txt": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
            "lazy_ngettext": (1, 2)}


def _sources(package: str) -> list[tuple[Path, list]]:
    sources = [(PROJECT_ROOT / package, PYTHON_MAP)]
    if package == "core":
        sources += [(PROJECT_ROOT / "templates" / name, TEMPLATE_MAP)
                    for name in ("macros", "errors")]
        sources.append((PROJECT_ROOT / "templates", [("*.html", "jinja2")]))
    else:
        sources.append((PROJECT_ROOT / "templates" / package, TEMPLATE_MAP))
    return [(path, method_map) for path, method_map in sources if path.is_dir()]


def extract(package: str) -> Catalog:
    """Every translatable string of `package`, as a template catalog."""
    template = Catalog(project="gongfang-live", charset="utf-8")
    for directory, method_map in _sources(package):
        for filename, lineno, message, comments, context in extract_from_dir(
                str(directory), method_map, options_map=OPTIONS, keywords=KEYWORDS,
                strip_comment_tags=True):
            if directory.name == "translations" or "/translations/" in filename:
                continue
            location = (str((directory / filename).relative_to(PROJECT_ROOT)), lineno)
            template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def po_path(package: str) -> Path:
    """Where the package's Chinese catalog lives."""
    return PROJECT_ROOT / package / "translations" / TARGET_LOCALE / "LC_MESSAGES" / "messages.po"


def update(package: str) -> Catalog:
    """Merge new strings into the package's .po (keeping translations) and save it."""
    template = extract(package)
    path = po_path(package)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=TARGET_LOCALE)
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        # Sorted entries, files without line numbers, the date kept: a change to the
        # code moves nothing in the catalog, so two branches' catalogs merge cleanly.
        catalog.creation_date = created
    else:
        catalog = Catalog(locale=TARGET_LOCALE, project="gongfang-live", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, sort_output=True,
                 include_lineno=False)
    return catalog


def _has_chinese(message) -> bool:
    # A plural's string is a tuple, ("",) when empty: a tuple is never falsy.
    if isinstance(message.string, tuple):
        return all(message.string)
    return bool(message.string)


def missing(package: str) -> list[str]:
    """Strings of `package` with no Chinese translation."""
    template = extract(package)
    path = po_path(package)
    translated: dict = {}
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=TARGET_LOCALE)
        translated = {m.id: m for m in catalog if m.id and _has_chinese(m) and not m.fuzzy}
    return [str(m.id) for m in template if m.id and m.id not in translated]


def fill(package: str, translations: dict[str, str]) -> int:
    """Set Chinese for the given msgids (JSON {msgid: msgstr}); returns how many."""
    path = po_path(package)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=TARGET_LOCALE)
    count = 0
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.id in translations:
            message.string = translations[message.id]
            message.flags.discard("fuzzy")
            count += 1
        elif isinstance(message.id, tuple) and message.id[0] in translations:
            # Chinese has one plural form: the singular's msgid names the entry.
            message.string = (translations[message.id[0]],)
            message.flags.discard("fuzzy")
            count += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, sort_output=True,
                 include_lineno=False)
    return count


def main(argv: list[str]) -> int:
    if "--fill" in argv:
        import json

        package = argv[argv.index("--fill") + 1]
        print(f"{package}: filled {fill(package, json.load(sys.stdin))}")
        return 0
    if "--check" in argv:
        gaps = {p: missing(p) for p in TRANSLATION_PACKAGES}
        for package, ids in gaps.items():
            for message_id in ids:
                print(f"{package}: untranslated: {message_id}")
        return 1 if any(gaps.values()) else 0
    for package in TRANSLATION_PACKAGES:
        catalog = update(package)
        untranslated = [m for m in catalog if m.id and not m.string]
        print(f"{package}: {len(catalog)} strings, {len(untranslated)} without Chinese")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
