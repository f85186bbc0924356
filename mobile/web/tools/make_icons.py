#!/usr/bin/env python3
"""Draw the app icons (stdlib only): icons/icon-192.png, icons/icon-512.png and
icons/icon.svg, a teal rounded square with three rising white steps (cradle to career).

Run from anywhere: python3 mobile/web/tools/make_icons.py
"""

import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "icons")

TEAL = (0x0B, 0x5F, 0x5A)
WHITE = (0xFF, 0xFF, 0xFF)
BG = (0xFA, 0xFA, 0xF7)

# The design on a 100-unit square: rounded background, three steps.
RADIUS = 18
STEPS = [  # x0, y0, x1, y1
    (20, 62, 38, 80),
    (41, 46, 59, 80),
    (62, 28, 80, 80),
]


def inside_rounded(x, y):
    r = RADIUS
    cx = min(max(x, r), 100 - r)
    cy = min(max(y, r), 100 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(x, y):
    """Colour at (x, y) in 0..100 units."""
    if not inside_rounded(x, y):
        return BG
    for x0, y0, x1, y1 in STEPS:
        if x0 <= x <= x1 and y0 <= y <= y1:
            return WHITE
    return TEAL


def png(size):
    rows = []
    sub = 3  # 3x3 samples per pixel for smooth edges
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0]
            for sy in range(sub):
                for sx in range(sub):
                    x = (px + (sx + 0.5) / sub) * 100 / size
                    y = (py + (sy + 0.5) / sub) * 100 / size
                    c = pixel(x, y)
                    for i in range(3):
                        acc[i] += c[i]
            row.extend(round(a / (sub * sub)) for a in acc)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def svg():
    steps = "".join(
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#fff"/>'
        for x0, y0, x1, y1 in STEPS
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" rx="{RADIUS}" fill="#0b5f5a"/>{steps}</svg>\n'
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    for size in (192, 512):
        with open(os.path.join(OUT, f"icon-{size}.png"), "wb") as f:
            f.write(png(size))
    with open(os.path.join(OUT, "icon.svg"), "w") as f:
        f.write(svg())


if __name__ == "__main__":
    main()
