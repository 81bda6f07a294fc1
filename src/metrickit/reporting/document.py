"""A report as data (sections of paragraphs, bullet lists, tables and images), rendered to Markdown, HTML or plain text
(what the CLI prints).

Text may hold Markdown's inline code (```x```); the HTML renderer turns it into ``<code>`` and escapes the rest.
Image paths are resolved by the caller (``image_ref``), so one document can point at files in place
(BENCHMARKS.md) or at copies beside it (a self-contained report folder).
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Union

__all__ = ["Bullets", "Document", "Image", "Paragraph", "Section", "Table", "to_html", "to_markdown", "to_text"]


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    path: Path
    caption: str


Block = Union[Paragraph, Bullets, Table, Image]


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def images(self) -> list[Path]:
        """Every image the document shows, in order."""
        return [b.path for b in [*self.intro, *(b for s in self.sections for b in s.blocks)] if isinstance(b, Image)]


ImageRef = Callable[[Path], str]


def _markdown_blocks(blocks: Sequence[Block], image_ref: ImageRef) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items] + ([""] if block.items else [])
        elif isinstance(block, Table):
            lines += ["| " + " | ".join(block.columns) + " |", "|" + "---|" * len(block.columns)]
            lines += ["| " + " | ".join(row) + " |" for row in block.rows] + [""]
        else:
            lines += [f"![{block.caption}]({image_ref(block.path)})", ""]
    return lines


def to_markdown(document: Document, image_ref: ImageRef) -> str:
    """The document as Markdown (GitHub tables)."""
    lines = [f"# {document.title}", "", *_markdown_blocks(document.intro, image_ref)]
    for section in document.sections:
        lines += [f"## {section.title}", "", *_markdown_blocks(section.blocks, image_ref)]
    return "\n".join(lines).rstrip() + "\n"


_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    parts = _CODE.split(text)  # even: plain text, odd: code
    return "".join(f"<code>{html.escape(p)}</code>" if k % 2 else html.escape(p) for k, p in enumerate(parts))


def _html_blocks(blocks: Sequence[Block], image_ref: ImageRef) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            if block.items:
                out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline(c)}</th>" for c in block.columns)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            src = html.escape(image_ref(block.path), quote=True)
            out.append(f'<figure><img src="{src}" alt="{html.escape(block.caption, quote=True)}"><figcaption>{_inline(block.caption)}</figcaption></figure>')
    return out


_STYLE = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2em}figure{display:inline-block;margin:.5em 1em .5em 0}
img{max-width:100%}figcaption{font-size:.85em;color:#555}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}"""


def to_html(document: Document, image_ref: ImageRef) -> str:
    """The document as one standalone HTML page (inline CSS; images by reference)."""
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(document.title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(document.title)}</h1>", *_html_blocks(document.intro, image_ref)]
    toc = "".join(f'<li><a href="#s{k}">{_inline(s.title)}</a></li>' for k, s in enumerate(document.sections))
    if document.sections:
        parts.append(f"<nav><ul>{toc}</ul></nav>")
    for k, section in enumerate(document.sections):
        parts += [f'<h2 id="s{k}">{_inline(section.title)}</h2>', *_html_blocks(section.blocks, image_ref)]
    return "\n".join([*parts, "</body></html>"]) + "\n"


def to_text(sections: Sequence[Section], width: int = 110) -> str:
    """Sections as plain text for a terminal: titles underlined, paragraphs wrapped, tables aligned, images by path."""
    lines: list[str] = []
    for section in sections:
        lines += [section.title, "=" * min(len(section.title), width)]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines += textwrap.wrap(block.text, width) + [""]
            elif isinstance(block, Bullets):
                for item in block.items:
                    lines += textwrap.wrap(item, width, initial_indent="- ", subsequent_indent="  ")
                lines += [""] if block.items else []
            elif isinstance(block, Table):
                widths = [max(len(str(c)) for c in column) for column in zip(block.columns, *block.rows)]
                row = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
                lines += [row(block.columns), row("-" * w for w in widths), *(row(r) for r in block.rows), ""]
            else:
                lines += [f"[{block.caption}: {block.path}]", ""]
    return "\n".join(lines).rstrip() + "\n"
