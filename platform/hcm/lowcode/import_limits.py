"""Limits of admin imports: a file's size and its rows, checked before it is read into memory.

The size is the upload's (Django has already streamed a large upload to a temporary file);
rows are counted by streaming through the file and stopping one row past the limit, so a
file of millions of rows costs no more to refuse than one just over the limit.
"""

import csv
import io
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from unfold.contrib.import_export.forms import ImportForm

# The formats whose rows can be counted without loading the file; the others (JSON, YAML,
# HTML) are parsed whole by tablib and are not offered for import.
DELIMITERS = {"CSV": ",", "TSV": "\t"}
IMPORTABLE_FORMATS = ("CSV", "XLSX", "TSV")
# An .xlsx is a zip of XML: refused when it unpacks to more than this many times the size limit
# (real spreadsheets unpack to about 5-10 times their size), before openpyxl opens it.
XLSX_UNPACKED_FACTOR = 20


def max_bytes() -> int:
    return settings.HCM_IMPORT_MAX_BYTES


def max_rows() -> int:
    return settings.HCM_IMPORT_MAX_ROWS


def check_size(upload) -> None:
    """Refuse an upload over the size limit, from its recorded size alone."""
    if upload.size > max_bytes():
        raise ValidationError(
            _("The file is %(size)s; an import may be at most %(limit)s. Split it into smaller files.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes())},
            code="too_large",
        )


def count_rows(upload, format_name: str, *, encoding: str = "utf-8-sig") -> int:
    """The data rows of the file (as the importer will see them), refusing more than the limit."""
    limit = max_rows()
    upload.seek(0)
    try:
        if format_name in DELIMITERS:
            count = _count_text_rows(upload, DELIMITERS[format_name], encoding, limit)
        elif format_name == "XLSX":
            count = _count_xlsx_rows(upload, limit)
        else:
            raise ValueError(format_name)
    except ValidationError:
        raise
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text. In Excel save it as “CSV UTF-8”, or upload the .xlsx file itself."),
            code="unreadable",
        ) from None
    except Exception:
        raise ValidationError(
            _("The file could not be read as %(format)s. Check that the format chosen matches the file.")
            % {"format": format_name},
            code="unreadable",
        ) from None
    finally:
        upload.seek(0)
    if count > limit:
        raise ValidationError(
            _(
                "The file has more than %(limit)s rows; an import may have at most %(limit)s. "
                "Split it into smaller files."
            )
            % {"limit": limit},
            code="too_many_rows",
        )
    return count


def _count_text_rows(upload, delimiter: str, encoding: str, limit: int) -> int:
    # As tablib reads CSV: the first row is the header, empty rows are skipped.
    text = io.TextIOWrapper(upload, encoding=encoding, newline="")
    try:
        count = -1
        for row in csv.reader(text, delimiter=delimiter):
            if row or count < 0:
                count += 1
                if count > limit:
                    break
        return max(count, 0)
    finally:
        text.detach()  # leave the upload open for the importer


def _count_xlsx_rows(upload, limit: int) -> int:
    import openpyxl

    with zipfile.ZipFile(upload) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > XLSX_UNPACKED_FACTOR * max_bytes():
        raise ValidationError(
            _("The spreadsheet unpacks to more than %(limit)s. Split it into smaller files.")
            % {"limit": filesizeformat(XLSX_UNPACKED_FACTOR * max_bytes())},
            code="too_large",
        )
    upload.seek(0)
    book = openpyxl.load_workbook(upload, read_only=True, data_only=True)
    try:
        count = -1  # as django-import-export reads the active sheet: every row after the header
        for _row in book.active.iter_rows(values_only=True):
            count += 1
            if count > limit:
                break
        return max(count, 0)
    finally:
        book.close()


class LimitedImportForm(ImportForm):
    """Unfold's import form, refusing a file over the size or row limit with a message on the
    file field; `row_count` tells the admin whether to import it in the request or in the background."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.row_count: int | None = None
        self.fields["import_file"].help_text = _(
            "CSV, TSV or Excel (.xlsx), at most %(size)s and %(rows)s rows. A file of more than "
            "%(background)s rows is checked and imported in the background (see Import jobs)."
        ) % {
            "size": filesizeformat(max_bytes()),
            "rows": max_rows(),
            "background": settings.HCM_IMPORT_BACKGROUND_ROWS,
        }

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        check_size(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload is None or chosen in (None, ""):
            return cleaned
        try:
            self.row_count = count_rows(upload, self.formats[int(chosen)].__name__)
        except ValidationError as error:
            self.add_error("import_file", error)
        return cleaned
