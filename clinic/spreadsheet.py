"""CSV files that a spreadsheet opens as data, never as formulas.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice and
Google Sheets (``=HYPERLINK(...)`` sends whoever clicks it elsewhere, older versions ran DDE
commands), and a leading tab or carriage return is stripped before that test by some of them.
Such a text cell gets a leading ``'``, which spreadsheets show as text and do not evaluate
(OWASP's "CSV injection" advice). Numbers stay numbers: ``-3`` as an int, float or Decimal is a
value, not a formula. Every CSV the application writes goes through ``writer``.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(file, *args, **kwargs) -> _SafeWriter:
    """``csv.writer`` whose text cells cannot be read as formulas."""
    return _SafeWriter(csv.writer(file, *args, **kwargs))
