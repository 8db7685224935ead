"""English words in search: plurals and a few everyday synonyms.

A shopper types `bag`, `brooches` or `cookie` where a title says "tote", "brooch" or
"cookies". Both sides go through one rule: a query's English word is cut to its
singular (`plural_stem`), and a product's document holds, for each English word, that
singular, its -y/-ie twin (berry, berries -> berrie) and the other words of its
synonym group. No stemmer library: the rules are few, and a Porter stemmer would also
cut pinyin (which shares these tokens) in ways no shopper types.
"""

from __future__ import annotations

from functools import lru_cache

# Each group finds the others; words are written as plural_stem leaves them.
SYNONYM_GROUPS = (
    ("bag", "tote", "handbag", "purse", "pouch"),
    ("cookie", "biscuit"),
    ("brooch", "pin"),
    ("scarf", "shawl"),
    ("cup", "mug"),
    ("gift", "present"),
    ("fan",),
    ("audiobook", "audio"),
    ("cloth", "fabric", "textile"),
)
_GROUP_OF = {word: group for group in SYNONYM_GROUPS for word in group}
_KEEP_ENDINGS = ("ss", "us", "is")
_ES_ENDINGS = ("ches", "shes", "xes", "zes", "sses")


@lru_cache(maxsize=65536)
def plural_stem(word: str) -> str:
    """`word` without an English plural ending: brooches -> brooch, bags -> bag."""
    if len(word) <= 3 or not word.isalpha() or not word.endswith("s"):
        return word
    if word.endswith(_KEEP_ENDINGS):
        return word
    if word.endswith(_ES_ENDINGS):
        return word[:-2]
    return word[:-1]


@lru_cache(maxsize=65536)
def document_forms(word: str) -> tuple[str, ...]:
    """Every token a document holds for one English word (itself first)."""
    stem = plural_stem(word)
    forms = [word, stem]
    if len(stem) > 3 and stem.endswith("y") and stem[-2] not in "aeiou":
        forms.append(stem[:-1] + "ie")  # berry is found by "berries" (-> berrie)
    forms.extend(_GROUP_OF.get(stem, ()))
    return tuple(dict.fromkeys(forms))
