"""A small, valid PDF drawn by hand: the fake HIS's printed checkup report (no PDF library needed).

Text uses STSong-Light with the UniGB-UCS2-H encoding, one of the CJK fonts every PDF reader
knows without embedding it, so Chinese shows; strings are UCS-2 big-endian in hex.
"""

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN, LINE = 56, 20
CHARS_PER_LINE = 30


def _hex(text: str) -> str:
    # UCS-2: characters beyond the Basic Multilingual Plane have no code here
    return "<" + "".join(f"{ord(c):04X}" if ord(c) <= 0xFFFF else "FFFD" for c in text) + ">"


def _content(title: str, lines: list[str]) -> bytes:
    commands = ["BT", f"/F1 18 Tf {MARGIN} {PAGE_HEIGHT - MARGIN} Td {_hex(title)} Tj", "/F1 11 Tf"]
    shown = 0
    for line in lines:
        for part in textwrap.wrap(line, CHARS_PER_LINE) or [""]:
            if shown * LINE > PAGE_HEIGHT - 3 * MARGIN:
                break  # one page is enough for a fake
            commands.append(f"0 -{LINE if shown else 2 * LINE} Td {_hex(part)} Tj")
            shown += 1
    commands.append("ET")
    return "\n".join(commands).encode("ascii")


def draw_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF showing `title` and `lines` (wrapped, cut at the end of the page)."""
    content = _content(title, lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>"
        ).encode("ascii"),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 6 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
        b"<< /Length " + str(len(content)).encode("ascii") + b" >>\nstream\n" + content + b"\nendstream",
    ]
    document = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(document)
    document += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    document += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    document += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(document)
