"""Write the hostile-input corpus (run from anywhere; files land beside this
script). Every file is something a workbench entry point may be handed: a
wrong, truncated, huge-by-declaration or malicious file. The suite runs each
through every entry point (tests/unit/test_hostile_corpus.py) and requires a
one-line refusal or a clean acceptance, never a traceback, never a partial
write.

    python tests/data/hostile/make_corpus.py
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def files() -> dict[str, bytes]:
    rnd = random.Random(13)
    out: dict[str, bytes] = {}
    # -- empty, binary, encodings -------------------------------------------------
    out["empty.csv"] = b""
    out["empty.json"] = b""
    out["empty.yaml"] = b""
    out["empty.xml"] = b""
    out["empty.xlsx"] = b""
    out["empty.pdf"] = b""
    out["nul_bytes.csv"] = b"name\x00,country\nAcme\x00,DE\n"
    out["random_bytes.csv"] = bytes(rnd.randrange(256) for _ in range(4096))
    out["random_bytes.json"] = bytes(rnd.randrange(256) for _ in range(4096))
    out["random_bytes.yaml"] = bytes(rnd.randrange(256) for _ in range(4096))
    out["random_bytes.xlsx"] = bytes(rnd.randrange(256) for _ in range(4096))
    out["random_bytes.pdf"] = b"%PDF-1.7\n" + bytes(rnd.randrange(256) for _ in range(4096))
    out["utf16_no_bom.csv"] = "Company,Country\nAcme,DE\n".encode("utf-16-le")
    out["latin1.csv"] = "Company,Country\nMüller GmbH,DE\n".encode("latin-1")
    out["bad_utf8.yaml"] = b"id: x\ntitle: \xff\xfe broken\n"
    out["bom_only.csv"] = b"\xef\xbb\xbf"
    out["only_newlines.csv"] = b"\n" * 1000
    out["cr_only.csv"] = b"Company,Country\rAcme,DE\rBeta,CN\r"
    # -- CSV shapes -------------------------------------------------------------
    out["header_only.csv"] = b"Company,Country\n"
    out["wrong_headers.csv"] = b"foo,bar\n1,2\n"
    out["duplicate_headers.csv"] = b"Company,Company,Country\nA,B,DE\n"
    out["ten_thousand_columns.csv"] = (",".join(f"c{i}" for i in range(10_000)) + "\n").encode()
    out["one_long_line.csv"] = b"Company,Country\n" + b"A" * 300_000 + b",DE\n"
    out["unclosed_quote.csv"] = b'Company,Country\n"Acme,DE\nBeta,CN\n'
    out["formula_injection.csv"] = b"Company,Country\n=HYPERLINK(\"http://x\"),DE\n+1+1,CN\n@SUM(A1),SG\n"
    out["ragged_rows.csv"] = b"Company,Country\nA\nB,CN,extra,extra\n,,\n"
    out["huge_quantity.csv"] = b"Reference,Ship date,Destination,Model,Quantity\nQ-1,2026-12-01,SG,H100," + b"9" * 400 + b"\n"
    out["bad_dates.csv"] = b"Reference,Ship date,Destination\nQ-1,2026-02-30,SG\nQ-2,31/12/2026,SG\n"
    out["control_chars.csv"] = "Company,Country\nAcme\u202eLtd,DE\nBeta\u0007,CN\n".encode()
    out["semicolon_mixed.csv"] = b"Company;Country,Notes\nA;DE,x\n"
    out["many_rows_tiny.csv"] = b"Company,Country\n" + b"".join(
        f"P{i},DE\n".encode() for i in range(5000))
    # -- JSON -------------------------------------------------------------------
    out["deep_array.json"] = b"[" * 50_000 + b"]" * 50_000
    out["deep_object.json"] = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
    out["truncated.json"] = b'{"results": [{"name": "Acme", "addresses": [{"city": "Sh'
    out["not_object.json"] = b"42"
    out["string.json"] = b'"just a string"'
    out["null.json"] = b"null"
    out["results_not_list.json"] = b'{"results": {"name": "x"}}'
    out["addresses_int.json"] = json.dumps({"results": [{"name": "X", "addresses": 5}]}).encode()
    out["ids_object.json"] = json.dumps({"results": [{"name": "X", "ids": {"a": 1}}]}).encode()
    out["names_int.json"] = json.dumps({"results": [{"name": 12345}]}).encode()
    out["huge_number.json"] = b'{"results": [{"name": "X", "score": ' + b"9" * 5000 + b"}]}"
    out["nan.json"] = b'{"results": [{"name": NaN}]}'
    out["dup_keys.json"] = b'{"results": [], "results": [{"name": "X"}]}'
    out["txn_bad_date.json"] = json.dumps({"date": "2026-02-30", "destination": "CN",
                                           "items": [{"model": "H100"}]}).encode()
    out["txn_wrong_types.json"] = json.dumps({"date": 20260101, "destination": ["CN"],
                                              "items": "H100"}).encode()
    out["txn_huge_tops.json"] = json.dumps({"date": "2026-01-01", "destination": "CN",
                                            "items": [{"model": "X", "tops": {"fp16": 1e308}}]}).encode()
    out["txn_negative.json"] = json.dumps({"date": "2026-01-01", "destination": "CN",
                                           "items": [{"model": "X", "tops": {"fp16": -5},
                                                      "die_area_mm2": -1}]}).encode()
    out["txn_unknown_fields.json"] = json.dumps({"date": "2026-01-01", "destination": "CN",
                                                 "items": [{"model": "X"}], "evil": True}).encode()
    out["txn_many_parties.json"] = json.dumps({"date": "2026-01-01", "destination": "CN",
                                               "items": [{"model": "X"}],
                                               "parties": [{"role": "end_user"}] * 500}).encode()
    # -- XML --------------------------------------------------------------------
    out["billion_laughs.xml"] = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                                 b'<!ENTITY a1 "&a;">]><sdnList>&a1;</sdnList>')
    out["external_entity.xml"] = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                                  b'"file:///etc/passwd">]><sdnList><sdnEntry>&e;</sdnEntry></sdnList>')
    out["deep.xml"] = b"<sdnList>" + b"<a>" * 20_000 + b"</a>" * 20_000 + b"</sdnList>"
    out["wrong_root.xml"] = b"<?xml version='1.0'?><root><x/></root>"
    out["truncated.xml"] = b"<?xml version='1.0'?><sdnList><sdnEntry><lastName>HUAWEI"
    out["not_xml.xml"] = b"this is not xml <<<"
    out["sdn_no_entries.xml"] = b"<?xml version='1.0'?><sdnList></sdnList>"
    out["sdn_garbage_fields.xml"] = (b"<?xml version='1.0'?><sdnList><sdnEntry><uid>x</uid>"
                                     b"<lastName></lastName><sdnType>???</sdnType></sdnEntry></sdnList>")
    # -- YAML (packs, templates) --------------------------------------------------
    out["aliases.yaml"] = b"a: &x [1, 2]\nb: *x\n"
    out["billion_laughs.yaml"] = (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                                  b"c: &c [*b, *b, *b, *b, *b, *b]\n")
    out["python_tag.yaml"] = b"x: !!python/object/apply:os.system ['echo pwned']\n"
    out["custom_tag.yaml"] = b"x: !evil {a: 1}\n"
    out["deep.yaml"] = b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    out["bad_date.yaml"] = b"valid_from: 2023-02-30\n"
    out["huge_int.yaml"] = b"n: " + b"9" * 5000 + b"\n"
    out["dup_keys.yaml"] = b"id: x\nid: y\n"
    out["tabs.yaml"] = b"id:\tx\n\ttitle: y\n"
    out["list_top.yaml"] = b"- 1\n- 2\n"
    out["scalar_top.yaml"] = b"just text\n"
    out["multi_doc.yaml"] = b"a: 1\n---\nb: 2\n"
    out["template_unknown_set.yaml"] = (b"id: x\nversion: '1'\ntitle: X\nkind: kyc\n"
                                        b"applies_when: {destination_in_set: D5_OR_MACA}\n"
                                        b"questions: []\n")
    out["template_bad_validity.yaml"] = (b"id: x\nversion: '1'\ntitle: X\nvalidity_months: -"
                                         + b"9" * 50 + b"\nquestions: []\n")
    out["pack_requirement_bad_op.yaml"] = (b"requirements:\n  - id: R1\n    title: t\n"
                                           b"    citation: c\n    sources: []\n    effect: needs_review\n"
                                           b"    when: {exec: ['rm -rf /']}\n")
    out["pack_requirement_unknown_field.yaml"] = (b"requirements:\n  - id: R1\n    title: t\n"
                                                  b"    citation: c\n    sources: []\n"
                                                  b"    effect: needs_review\n    when: {eq: [txn.secret, 1]}\n")
    out["pack_deep_condition.yaml"] = (b"requirements:\n  - id: R1\n    title: t\n    citation: c\n"
                                       b"    sources: []\n    effect: needs_review\n    when: "
                                       + b"{not: " * 200 + b"{lit: true}" + b"}" * 200 + b"\n")
    # -- XLSX -------------------------------------------------------------------
    def zipped(members: dict[str, bytes], *, declared: int | None = None) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in members.items():
                # a fixed time, so the generator writes the same bytes every run
                z.writestr(zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0)), d,
                           compress_type=zipfile.ZIP_DEFLATED)
        data = bytearray(buf.getvalue())
        if declared is not None:
            # rewrite every uncompressed-size field to claim a huge member
            i = data.find(b"PK\x01\x02")
            while i != -1:
                data[i + 24:i + 28] = declared.to_bytes(4, "little")
                i = data.find(b"PK\x01\x02", i + 4)
        return bytes(data)
    out["zip_not_xlsx.xlsx"] = zipped({"hello.txt": b"hi"})
    out["xlsx_missing_parts.xlsx"] = zipped({"[Content_Types].xml": b"<Types/>"})
    out["xlsx_declares_huge.xlsx"] = zipped({"[Content_Types].xml": b"<Types/>",
                                             "xl/workbook.xml": b"<workbook/>" * 100},
                                            declared=0xFFFFFFF0)
    out["xlsx_zip_bomb.xlsx"] = zipped({"[Content_Types].xml": b"<Types/>",
                                        "xl/worksheets/sheet1.xml": b"0" * 20_000_000})
    out["truncated_zip.xlsx"] = zipped({"[Content_Types].xml": b"<Types/>" * 200})[:300]
    out["csv_named_xlsx.xlsx"] = b"Company,Country\nAcme,DE\n"
    out["pdf_named_xlsx.xlsx"] = b"%PDF-1.4\n%%EOF\n"
    # -- PDF --------------------------------------------------------------------
    out["pdf_header_only.pdf"] = b"%PDF-1.7\n"
    out["pdf_no_signature.pdf"] = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                                   b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                                   b"trailer<</Root 1 0 R>>\n%%EOF\n")
    out["pdf_bad_xref.pdf"] = (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\nxref\n0 2\n"
                               b"0000000000 65535 f \n00000000zz 00000 n \ntrailer<</Size 2/Root 1 0 R>>\n"
                               b"startxref\n9999999\n%%EOF\n")
    out["pdf_deep_dict.pdf"] = b"%PDF-1.4\n1 0 obj" + b"<<" * 5000 + b">>" * 5000 + b"endobj\n%%EOF\n"
    out["pdf_named_csv.csv"] = b"%PDF-1.4\n%%EOF\n"
    out["html_named_pdf.pdf"] = b"<html><body>not a pdf</body></html>"
    # -- misc ------------------------------------------------------------------
    out["exe_named_pdf.pdf"] = b"MZ\x90\x00" + bytes(200)
    out["script.txt"] = b"#!/bin/sh\nrm -rf ~\n"
    out["long_name_" + "x" * 150 + ".csv"] = b"Company,Country\nAcme,DE\n"
    out["spaces and unicode \u540d\u524d.csv"] = "Company,Country\n\u534e\u4e3a,CN\n".encode()
    out["rtl_override_\u202egpj.exe.csv"] = b"Company,Country\nAcme,DE\n"
    out["json_named_csv.csv"] = b'{"results": []}'
    out["xml_named_json.json"] = b"<sdnList/>"
    out["yaml_named_json.json"] = b"a: 1\n"
    out["gzip.csv"] = b"\x1f\x8b\x08\x00" + bytes(100)
    out["sqlite_named_csv.csv"] = b"SQLite format 3\x00" + bytes(200)
    return out


LINKS = {"link_to_dev_zero.csv": "/dev/zero", "link_to_passwd.pdf": "/etc/passwd",
         "link_to_dev_zero.json": "/dev/zero"}


def main() -> None:
    made = files()
    for name, data in made.items():
        (HERE / name).write_bytes(data)
    for name, target in LINKS.items():
        link = HERE / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    print(f"{len(made) + len(LINKS)} hostile files in {HERE}")


if __name__ == "__main__":
    main()
