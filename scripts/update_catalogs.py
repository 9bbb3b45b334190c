"""Extract every user-visible string and update the zh_CN and en catalogs.

Run after changing strings: python scripts/update_catalogs.py
The en catalog is filled with the English source text; zh_CN entries that are
new are left empty for a translator (tests/test_i18n.py fails until they are filled).
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "lobby" / "translations"
POT = TRANSLATIONS / "messages.pot"
SOURCES = ["lobby", "kiosk", "display", "admin", "templates"]


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def main() -> None:
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--sort-output",
            "--omit-header", "-o", str(POT), *SOURCES)
    for locale in ("zh_CN", "en"):
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []
        pybabel(command, "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale, *extra)
    en = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with en.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
    with en.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True, sort_output=True, width=100)


if __name__ == "__main__":
    main()
