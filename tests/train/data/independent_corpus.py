"""A small corpus with independently written clones of each kind, per split, for the miner's tests and the
baselines benchmark's smoke test."""

from __future__ import annotations

import json
from pathlib import Path

SHAPES = '''
class Shape:
    def area(self):
        raise NotImplementedError


class Circle(Shape):
    def area(self):
        """Return the area of the circle."""
        radius = self.radius
        result = 3.14159 * radius * radius
        return round(result, 6)


class Square(Shape):
    def area(self):
        side = self.side
        if side < 0:
            raise ValueError("negative side")
        return float(side * side)


class Ring(Circle):
    def area(self):
        outer = self.radius * self.radius
        inner = self.hole * self.hole
        return 3.14159 * (outer - inner)


def area_of(shapes):
    """Sum the areas of the shapes."""
    total = 0.0
    for shape in shapes:
        total += shape.area()
    return total


def describe(shape):
    name = type(shape).__name__
    text = f"{name} of area {shape.area():.2f}"
    return text.upper() if shape.area() > 10 else text
'''

DURATION_A = '''
def parse_duration(text):
    """Parse a duration such as 1h30m into a number of seconds."""
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total


def format_duration(seconds):
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes}m{seconds}s"
'''

DURATION_B = '''
import re


def parse_duration(value):
    """Parse a duration such as 1h30m into a number of seconds!"""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\\d+)([hms])", value)
    return sum(int(amount) * units[unit] for amount, unit in parts)


def parse_date(value):
    year, month, day = value.split("-")
    if not year.isdigit():
        raise ValueError(value)
    return int(year), int(month), int(day)
'''

COPY_OF_A = DURATION_A.replace("text", "source")
"""A renamed copy of DURATION_A's parse_duration: the same type-2 key, so not an independent clone."""


def build_corpus(root: Path) -> Path:
    """Repositories per split (test: shapes-t, clock-t, timing-t, clock-copy-t; val: the same code with other
    names; train: one more timing whose parse_duration must never pair with a test one) and manifest.json."""
    layout = {
        "shapes-t": ("test", {"shapes.py": SHAPES}), "clock-t": ("test", {"clock.py": DURATION_A}),
        "timing-t": ("test", {"timing.py": DURATION_B}), "clock-copy-t": ("test", {"clock.py": COPY_OF_A}),
        "shapes-v": ("val", {"geometry.py": SHAPES.replace("self", "this")}),
        "clock-v": ("val", {"clock.py": DURATION_A.replace("total", "acc")}),
        "timing-v": ("val", {"timing.py": DURATION_B.replace("parts", "found")}),
        "timing-train": ("train", {"timing.py": DURATION_B.replace("value", "spec")}),
    }
    for repo, (_, files) in layout.items():
        for name, text in files.items():
            (root / repo).mkdir(parents=True, exist_ok=True)
            (root / repo / name).write_text(text.lstrip(), encoding="utf-8")
    manifest = {repo: split for repo, (split, _) in layout.items()}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root
