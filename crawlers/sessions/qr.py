"""A QR code picture drawn in a terminal with half-block characters, one character per two modules.

The screenshot is reduced to its module grid first: the top-left finder pattern is 7 modules wide,
which gives the module size in pixels; each module is then read at its centre. Dark modules are drawn
black on a bright white background (ANSI colours), so the code scans on dark and light terminals alike.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

QUIET_ZONE = 2  # modules of white around the code (phones need some)
_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
_COLOURS, _RESET = "\x1b[30;107m", "\x1b[0m"


class NotAQrCode(ValueError):
    """The picture has no dark square block where a QR code's finder pattern should be."""


def module_grid(path: Path) -> list[list[bool]]:
    """The code's modules (True: dark), read from a picture of it."""
    image = Image.open(path).convert("L")
    width, height = image.size
    pixels = image.load()
    dark = [[pixels[x, y] < 128 for x in range(width)] for y in range(height)]
    rows = [y for y in range(height) if any(dark[y])]
    columns = [x for x in range(width) if any(dark[y][x] for y in rows)]
    if not rows or not columns:
        raise NotAQrCode(f"{path}: no dark pixels")
    top, left, right = rows[0], columns[0], columns[-1]
    run = 0
    while left + run <= right and dark[top][left + run]:
        run += 1
    module = run / 7.0
    if module < 1:
        raise NotAQrCode(f"{path}: the top-left finder pattern is {run} px wide, too small to read")
    count = round((right - left + 1) / module)
    grid = []
    for row in range(count):
        y = min(height - 1, int(top + (row + 0.5) * module))
        grid.append([dark[y][min(width - 1, int(left + (col + 0.5) * module))] for col in range(count)])
    return grid


def draw(grid: list[list[bool]], colour: bool = True) -> str:
    """Lines of half blocks, two module rows per line, with a quiet zone."""
    size = len(grid) + 2 * QUIET_ZONE
    padded = [[False] * size for _ in range(QUIET_ZONE)]
    padded += [[False] * QUIET_ZONE + row + [False] * QUIET_ZONE for row in grid]
    padded += [[False] * size for _ in range(QUIET_ZONE + (len(padded) + QUIET_ZONE) % 2)]
    lines = []
    for y in range(0, len(padded) - 1, 2):
        text = "".join(_BLOCKS[(top, bottom)] for top, bottom in zip(padded[y], padded[y + 1], strict=True))
        lines.append(f"{_COLOURS}{text}{_RESET}" if colour else text)
    return "\n".join(lines)
