"""CodeUnit.stub: Python functions that declare an interface rather than implement one (CL300 skips them)."""

from __future__ import annotations

from codelens.parsing import extract_units

SOURCE = '''import abc
import typing
from typing import Protocol, overload


class Reader(Protocol):
    def read(self, size):
        return self.buffer[:size]


class Generic(typing.Protocol[int]):
    def get(self):
        return 1


class Base(abc.ABC):
    @abc.abstractmethod
    def run(self):
        value = 1
        return value

    @property
    @abc.abstractmethod
    def name(self): ...


@overload
def parse(x: int) -> int: ...
@typing.overload
def parse(x: str) -> str: ...
def parse(x):
    return x


def later(self):
    """Subclasses do this."""
    raise NotImplementedError("later")


def nothing():
    pass


def fails():
    raise ValueError("not a placeholder")


class Concrete(Base):
    def run(self):
        return 2
'''


def test_overloads_abstract_and_protocol_methods_and_placeholder_bodies_are_stubs():
    units = extract_units("api.py", SOURCE, "python").units
    assert [(u.qualname, u.start_line, u.stub) for u in units] == [
        ("Reader.read", 7, True), ("Generic.get", 12, True), ("Base.run", 18, True), ("Base.name", 24, True),
        ("parse", 28, True), ("parse", 30, True), ("parse", 31, False), ("later", 35, True),
        ("nothing", 40, True), ("fails", 44, False), ("Concrete.run", 49, False),
    ]


def test_other_languages_have_no_stub_rule():
    units = extract_units("a.js", "function f() {\n  return 1;\n}\n", "javascript").units
    assert [u.stub for u in units] == [False]
