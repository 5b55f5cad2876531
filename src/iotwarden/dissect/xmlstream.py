"""The streaming XML mechanism shared by the HTTP body readers (dissect/upnpdesc.py, dissect/dpwsmeta.py):
a body fed in pieces to a defusedxml parser that refuses any DTD (no entity expansion, no external
references), under a byte limit, an element depth and a text bound; malformed XML ends as ParseError.

Each reader keeps only what its document means: a :class:`BoundedTarget` subclass that says which
elements it keeps, and the reader's ``result()``.
"""

from __future__ import annotations

from typing import ClassVar
from xml.etree.ElementTree import ParseError as XmlParseError

from defusedxml import DefusedXmlException  # a ValueError; listed for the reader
from defusedxml.ElementTree import DefusedXMLParser

from iotwarden.errors import ParseError

MAX_DEPTH = 32  # element nesting followed; deeper elements are skipped
MAX_TEXT = 256  # characters kept of one element's text

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

Declarations = list[tuple[str, str]]  # (prefix, namespace URI) pairs an element declares


def split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag in Clark notation (``{ns}local``)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def resolve_qname(qname: str, declared: list[Declarations]) -> str:
    """A QName's Clark notation through the namespace declarations in scope (innermost last; XML Schema 2
    §3.2.18); an undeclared prefix is kept as written, and with no default namespace an unprefixed name has
    none."""
    prefix, sep, local = qname.rpartition(":")
    for declarations in reversed(declared):
        for p, uri in reversed(declarations):
            if p == prefix:
                return f"{{{uri}}}{local}" if uri else local
    return qname if sep else local


class NotThisDocument(Exception):
    """Raised by a target when the first elements show the body is not the document it reads: stop reading."""


class BoundedTarget:
    """ElementTree parser target that follows at most MAX_DEPTH nested elements (deeper ones are skipped
    with all they hold) and gathers the text of one open element up to ``max_gathered`` characters.

    Subclasses implement :meth:`element_start` and :meth:`element_end` for the elements followed, call
    :meth:`gather` to collect an element's text and :meth:`take_text` when it closes, and set
    ``finished`` once their document's element closed.
    """

    max_gathered: ClassVar[int] = MAX_TEXT  # characters gathered of one element's text before more is dropped

    def __init__(self) -> None:
        self.depth = 0  # open elements followed
        self.skipped = 0  # open elements past MAX_DEPTH
        self.field: str | None = None  # the field whose element's text is gathered
        self.text: list[str] = []
        self.text_len = 0
        self.finished = False

    def element_start(self, ns: str, local: str) -> None:
        raise NotImplementedError

    def element_end(self) -> None:
        raise NotImplementedError

    def element_skipped(self) -> None:
        """An element past MAX_DEPTH began (it and what it holds are not followed)."""

    def gather(self, field: str) -> None:
        """Gather the text of the element that just began, for ``field``."""
        self.field, self.text, self.text_len = field, [], 0

    def take_text(self) -> str:
        """The text gathered (at most about ``max_gathered`` characters); gathering stops."""
        self.field = None
        return "".join(self.text)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.skipped or self.depth >= MAX_DEPTH:
            self.skipped += 1
            self.element_skipped()
            return
        self.depth += 1
        self.element_start(*split_tag(tag))

    def data(self, text: str) -> None:
        if self.field is not None and self.text_len < self.max_gathered:
            self.text.append(text)
            self.text_len += len(text)

    def end(self, tag: str) -> None:
        if self.skipped:
            self.skipped -= 1
            return
        self.depth -= 1
        self.element_end()

    def close(self) -> None:
        """Called by the parser's own close(); the result is read from the target instead."""


class StreamReader:
    """Reads one XML document fed in pieces (the body of one HTTP response) into a :class:`BoundedTarget`.

    :meth:`feed` takes the body's bytes as they arrive and says when reading is over: the target
    finished, ``max_bytes`` were read, the body is not XML, or the target raised NotThisDocument (then
    ``rejected`` is True). Malformed XML, an unknown declared encoding and any DTD (entity definitions,
    external references) end it with :class:`~iotwarden.errors.ParseError`.
    """

    kind: ClassVar[str]  # the observation kind dissect/http.py emits
    label: ClassVar[str]  # the document's name in ParseError messages
    max_bytes: ClassVar[int]  # bytes of a body read

    def __init__(self, target: BoundedTarget) -> None:
        self.read = 0
        self.over = False
        self.rejected = False
        self._parser: DefusedXMLParser | None = None
        self._target = target

    def feed(self, data: bytes) -> bool:
        """Read ``data``, the next bytes of the body; True when nothing more is wanted."""
        if self.over:
            return True
        data = data[: self.max_bytes - self.read]
        self.read += len(data)
        if self._parser is None:
            data = data.lstrip(_WHITESPACE)  # some servers send a CRLF before the XML declaration
            if not data:
                return self._stop_at_limit()
            if not (data.startswith(b"<") or data.startswith(_BOM)):
                self.over = True  # not XML (a MIME multipart scan image, an HTML page): not read any further
                return True
            self._parser = DefusedXMLParser(target=self._target, forbid_dtd=True)
        try:
            self._parser.feed(data)
        except NotThisDocument:
            self.over = self.rejected = True
            return True
        except (XmlParseError, DefusedXmlException, LookupError, ValueError) as exc:  # LookupError: a declared
            self.over = True  # encoding Python does not know (expat asks the codec registry for it)
            raise ParseError(f"{self.label}: {type(exc).__name__}: {str(exc)[:80]}") from None
        if self._target.finished:
            self.over = True
            return True
        return self._stop_at_limit()

    def _stop_at_limit(self) -> bool:
        if self.read >= self.max_bytes:
            self.over = True
        return self.over
