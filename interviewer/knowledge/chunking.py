"""Splitting documents into chunks: by headings first, then by size with overlap."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from interviewer.knowledge.documents import Document

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
CHUNK_CHARS = 1000
OVERLAP_CHARS = 150


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    source: str
    heading: str  # the deepest heading: what a citation names
    heading_path: str
    position: int

    @property
    def citation(self) -> str:
        return f"{self.source} > {self.heading}"


def chunk_document(document: Document, *, chunk_chars: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    sections = MarkdownHeaderTextSplitter(HEADERS, strip_headers=False).split_text(document.text)
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=overlap)
    chunks: list[Chunk] = []
    # Ids name the file and its content: a changed file gets new ids, two copies of a file differ.
    prefix = f"{hashlib.sha1(document.source.encode()).hexdigest()[:10]}-{document.file_hash[:12]}"
    for section in sections:
        names = [section.metadata[key] for _, key in HEADERS if section.metadata.get(key)]
        heading = names[-1] if names else document.path.stem
        for piece in splitter.split_text(section.page_content):
            if not any(ch.isalnum() for ch in piece):
                continue
            chunks.append(
                Chunk(
                    id=f"{prefix}-{len(chunks):05d}",
                    text=piece,
                    source=document.source,
                    heading=heading,
                    heading_path=" > ".join(names) or heading,
                    position=len(chunks),
                )
            )
    return chunks
