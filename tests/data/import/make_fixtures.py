"""Regenerate the small import fixtures in this folder.

Run: .venv/bin/python tests/data/import/make_fixtures.py
The files are committed so a reader can open them and the tests read them
from here; the USCC in parties_bad_row7.csv has a wrong check digit on purpose.
"""

from __future__ import annotations

import codecs
import io
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = "Company,Country,Other names,USCC,Notes\r\n"
ROWS = [
    "华为技术有限公司,China,Huawei Technologies,,Chinese legal name\r\n",
    "Müller Halbleiter GmbH,DE,,,\r\n",
    "Macau Compute Ltd.,Macau,澳门计算有限公司,,\r\n",
]
TEXT = HEADER + "".join(ROWS)


def texts() -> dict[str, bytes]:
    rnd = random.Random(7)
    return {
        "parties_utf8.csv": TEXT.encode("utf-8"),
        "parties_utf8_bom.csv": codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        "parties_utf16.csv": TEXT.encode("utf-16"),  # with BOM, as Excel writes it
        "parties_gb18030.csv": TEXT.replace("Müller", "Mueller").encode("gb18030"),
        "parties_semicolon.csv": TEXT.replace(",", ";").encode("utf-8"),
        "parties_tab.txt": TEXT.replace(",", "\t").encode("utf-8"),
        "wrong_headers.csv": "Firm,Land\r\nACME,DE\r\n".encode("utf-8"),
        "empty.csv": b"",
        "header_only.csv": HEADER.encode("utf-8"),
        "garbage.csv": bytes(rnd.randrange(256) for _ in range(4096)),
        "formula_text.csv": (HEADER + '"=HYPERLINK(""http://x"",""y"")",CN,,,\r\n'
                             "=1+1 Trading Co.,HK,,,\r\n").encode("utf-8"),
        # Row 7 (header = row 1) is bad in three columns.
        "parties_bad_row7.csv": (
            "Legal name,Country,USCC,Owner,Owner percent\r\n"
            + "".join(f"Good Party {i},SG,,,\r\n" for i in range(2, 7))
            + "Bad Party 7,Narnia,91350100M000100Y4X,,\r\n"
            + "Good Party 8,MY,,Good Party 2,abc\r\n"
            + "Good Party 9,AE,,,\r\n").encode("utf-8"),
    }


def xlsx_files() -> dict[str, bytes]:
    import openpyxl

    out = {}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["Legal name", "Country", "Notes"])
    ws.append(["Formula Test Ltd.", "SG", "ok"])
    ws.append(["Sum Corp", "=\"S\"&\"G\"", "country is a formula"])
    ws.append(["Typed Text Ltd.", "HK", None])
    ws["C4"] = "=not a formula"
    ws["C4"].data_type = "s"  # a text cell that merely starts with "="
    buf = io.BytesIO()
    wb.save(buf)
    out["formula.xlsx"] = buf.getvalue()
    out["truncated.xlsx"] = buf.getvalue()[: len(buf.getvalue()) // 2]
    import zipfile

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    out["not_a_workbook.xlsx"] = zbuf.getvalue()
    out["picture.csv"] = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(32))
    return out


def all_files() -> dict[str, bytes]:
    files = texts()
    files.update(xlsx_files())
    return files


def main() -> None:
    for name, data in all_files().items():
        (HERE / name).write_bytes(data)
        print(name, len(data))


if __name__ == "__main__":
    main()
