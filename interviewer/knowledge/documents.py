"""Reading files into Markdown-like text whose headings mark sections.

Markdown and text are read as they are, HTML through BeautifulSoup (headings become '#'
lines), PDF through pypdf (one section per page). A file that cannot be used is reported
with its path and a reason, and never stops an ingest.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024
# Beyond these a file takes many minutes to index on a laptop CPU (about 17 chunks a second):
# it is skipped with the reason, and the user can split it.
MAX_TEXT_CHARS = 2_000_000  # about 800 pages of prose
MAX_PDF_PAGES = 1_000
logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported once, by us


class DocumentError(Exception):
    """A file that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class Document:
    path: Path
    source: str  # how citations name the file (relative to the ingest root)
    kind: str
    text: str  # Markdown-like: headings start with '#'
    file_hash: str


def file_kind(path: Path) -> str | None:
    return SUPPORTED.get(path.suffix.lower())


def iter_files(paths: Iterable[Path], problems: list[tuple[str, str]]) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs under the given files and folders; missing paths become problems.

    Inside a folder, a link that leads out of it is not followed: ``notes/x.md -> /etc/shadow``
    would put a private file into search results and, with an LLM engine, into prompts. A file
    named on the command line is the user's own choice and is read wherever it points."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            yield path, path.parent
        elif path.is_dir():
            inside = path.resolve()
            for found in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if not found.resolve().is_relative_to(inside):
                    problems.append((str(found), f"a link to a file outside {path}: not followed"))
                elif file_kind(found) is None:
                    problems.append((str(found), "unsupported file type"))
                else:
                    yield found, path
        else:
            problems.append((str(path), "no such file or folder"))


def relative_source(path: Path, root: Path) -> str:
    """How citations name a file: its path under the folder it was found in, else its name."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def read_document(path: Path, source: str) -> Document:
    kind = file_kind(path)
    if kind is None:
        raise DocumentError("unsupported file type (use .md, .txt, .html or .pdf)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read ({exc.strerror})") from None
    if not data.strip():
        raise DocumentError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    file_hash = hashlib.sha256(data).hexdigest()
    if kind == "pdf":
        text = _pdf_text(data)
    else:
        if b"\x00" in data[:8192]:
            raise DocumentError("binary content, not text")
        try:
            decoded = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"not valid UTF-8 text (byte {exc.start})") from None
        text = _html_text(decoded) if kind == "html" else decoded
        if kind == "text":
            text = f"# {path.stem}\n\n{text}"
    if not text.strip() or not any(ch.isalnum() for ch in text):
        raise DocumentError("no extractable text")
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentError(f"too long to index ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}): split it into smaller files")
    return Document(path=path, source=source, kind=kind, text=text, file_hash=file_hash)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "svg"]):
        tag.decompose()
    for level in range(1, 5):
        for heading in soup.find_all(f"h{level}"):
            title = " ".join(heading.get_text(" ").split())
            heading.replace_with(f"\n\n{'#' * level} {title}\n\n")
    lines = [" ".join(line.split()) for line in soup.get_text("\n").splitlines()]
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank:
            text.append("")
            blank = True
    return "\n".join(text).strip()


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("encrypted PDF")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise DocumentError(f"too long to index ({len(reader.pages):,} pages; the limit is {MAX_PDF_PAGES:,}): split it into smaller files")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:80]})") from None
    except Exception as exc:  # pypdf raises many internal types on damaged files
        raise DocumentError(f"unreadable PDF ({type(exc).__name__})") from None
    return "\n\n".join(f"## Page {n}\n\n{text.strip()}" for n, text in enumerate(pages, start=1) if text.strip())
