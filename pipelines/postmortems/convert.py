"""Turn a post-mortem file of any format teams keep into Markdown, or say why it cannot be read.

Teams' stores hold Markdown, plain text, HTML exports (Confluence "Export to HTML", Google Docs
"Download > Web page"), web archives (.mht, and Confluence's "Export to Word", a MIME web
archive named .doc) and Word documents (Word, Google Docs "Download > .docx"). `to_markdown`
gives the parser one input, Markdown text, whatever the file was; every way a file can be
unreadable becomes a `Problem` instead of an exception ("error": not loaded, "warning": loaded
with gaps). `kind_of` says which files under a store are post-mortems, which are assets to count
as skipped (images, styles, attachments) and which are neither.

Libraries, chosen on exports written in the style of each tool (tests/postmortems/formats):
- HTML -> Markdown: markdownify (MIT) over a BeautifulSoup tree we clean first. It writes ATX
  headings at the source level, `-` and `1.` lists, pipe tables (with the first row as header
  when a Google Docs table has no <th>) and fenced code. markitdown (MIT) gave the same Markdown
  as markdownify alone, because it is markdownify and mammoth underneath, but adds magika (an
  ONNX file-type model), requests and click for nothing we use; its generic cleanup keeps
  Confluence's breadcrumbs, page metadata, attachment list and footer, gives a Google Docs table
  an empty header row and leaves bold pseudo-headings as plain lines. html2text is GPL-3.0 (emberline is Apache-2.0),
  writes tables without outer pipes and backslash-escapes dashes in prose.
- DOCX -> HTML: mammoth (BSD-2), which maps Word's heading styles to <h1>..<h6>, numbering to
  <ol>/<ul> and tables to <table>; its HTML then takes the HTML path above, so both exports get
  the same cleanup (bold one-line paragraphs as headings, for instance).
- PDF: not read. pypdf 7.1 and pdfminer.six 20260107 were tried on a PDF made with reportlab
  from a post-mortem with headings, bullet and numbered lists, a table and code: both return
  headings as plain lines with no level, bullets dropped (pypdf) or as "(cid:127)" (pdfminer),
  "1." numbers without their dot and each table cell on its own line. Causes and action items
  would be lost silently, so a PDF is an ingest issue that asks for Markdown, HTML or DOCX.

What the cleanup does, and why:
- <script>, <style>, <noscript>, <template>, forms, <nav>, <aside>, <iframe>/<object>, <svg> and
  <head> are removed before conversion: nothing in them is the post-mortem, and text inside a
  script or style must never reach the warehouse. HTML is only parsed, never executed.
- Confluence: only `#main-content` is kept, with the page title (less its "Space : " prefix) as
  the H1; breadcrumbs, "Created by ..." metadata, the attachments box and the footer are chrome.
  Code macros keep their language; checked task-list items become `[x]`, open ones `[ ]`.
- Google Docs: the "title" paragraph becomes the H1; a paragraph that is one short bold line
  (bold by its class in the document's CSS, an inline style, <b> or <strong>) becomes a heading at
  the level of the last real heading, because many docs use bold lines instead of heading
  styles; runs of Courier paragraphs become a fenced block; google.com/url?q= redirects are
  unwrapped; nested lists, which Google writes as sibling lists with a level in the class name
  (lst-kix_..-1), are nested again.
- Images are dropped (they are assets; embedded base64 images are removed before parsing so a
  large export with pictures stays cheap), entities are decoded, non-breaking and zero-width
  spaces normalised.
- Plain text keeps its lines one to one, so a line number in a .txt is the line in the file:
  setext headings (a line underlined with === or ---) and ALL-CAPS heading lines become ATX
  headings, and "•" bullets become "-" items. Bytes that are not UTF-8 are read as Windows-1252
  (what Notepad and Outlook save), with a warning.
- Size: an HTML or DOCX export is read up to MAX_EXPORT_BYTES (exports carry pictures); the
  markup left after dropping pictures up to MAX_MARKUP_BYTES, and a DOCX's word/document.xml up
  to MAX_DOCX_XML_BYTES. Parsing and markdownify cost about 5 s per MB of markup on a busy
  2-core machine (bench/formats.py), so the caps bound one file to seconds, not minutes; past
  them the file is an ingest issue that says how big it is and what to do. A long post-mortem
  export is a few hundred kB of markup.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import parse_qs, urlsplit

import mammoth
from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

from pipelines.postmortems.model import Problem

# Files meant as post-mortems: each becomes an incident or an ingest issue, never nothing.
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
# Web archives, and Confluence's "Export to Word", which writes a MIME web archive named .doc.
WEB_ARCHIVE_SUFFIXES = frozenset({".mht", ".mhtml", ".doc"})
DOCX_SUFFIXES = frozenset({".docx"})
# Documents we recognise but do not read; each gets an ingest issue saying what to export instead.
UNREAD_DOCUMENT_SUFFIXES = frozenset({".pdf", ".odt", ".rtf", ".pages"})
POSTMORTEM_SUFFIXES = (MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | WEB_ARCHIVE_SUFFIXES
                       | DOCX_SUFFIXES | UNREAD_DOCUMENT_SUFFIXES)

# What a post-mortem repository holds beside the documents: counted as skipped assets.
ASSET_SUFFIXES = frozenset({
    # images and diagrams
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".heic",
    ".drawio", ".excalidraw",
    # what an HTML export ships beside its pages
    ".css", ".js", ".mjs", ".map", ".woff", ".woff2", ".ttf", ".otf", ".eot",
    # attachments: data, logs, slides, recordings, archives
    ".csv", ".tsv", ".xlsx", ".xls", ".pptx", ".ppt", ".log", ".har",
    ".mp4", ".mov", ".webm", ".mp3", ".wav", ".zip", ".gz", ".tgz", ".tar", ".7z",
})

# An export with pictures is large; the markup left once they are dropped is what costs time.
MAX_EXPORT_BYTES = 64_000_000
MAX_MARKUP_BYTES = 2_000_000

EXPORT_HINT = "export the page as Markdown, HTML or DOCX and put that file in the store"


@dataclass
class Converted:
    text: str | None  # Markdown; None when the file did not load
    problems: list[Problem] = field(default_factory=list)
    converter: str = "none"  # which library made `text`: "markdown", "text", "markdownify", ...


def kind_of(path: str | PurePath) -> str:
    """"postmortem", "asset" or "other", by the file's suffix (case-insensitive)."""
    suffix = PurePath(path).suffix.lower()
    if suffix in POSTMORTEM_SUFFIXES:
        return "postmortem"
    if suffix in ASSET_SUFFIXES:
        return "asset"
    return "other"


def to_markdown(raw: bytes, suffix: str, source_path: str) -> Converted:
    """Markdown for the file's bytes; `suffix` (".html", "docx", ...) picks the reader.

    Never raises for bad input: a file that cannot be read comes back with `text=None` and an
    "error" Problem, one read with gaps with a "warning".
    """
    suffix = suffix.lower() if suffix.startswith(".") else "." + suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        converted = _markdown(raw)
    elif suffix in TEXT_SUFFIXES:
        converted = _plain_text(raw)
    elif suffix in HTML_SUFFIXES:
        converted = _guarded(_html, raw, "markdownify")
    elif suffix in DOCX_SUFFIXES:
        converted = _guarded(_docx, raw, "mammoth+markdownify")
    elif suffix in WEB_ARCHIVE_SUFFIXES:
        converted = _guarded(_web_archive, raw, "markdownify")
    elif suffix in UNREAD_DOCUMENT_SUFFIXES:
        converted = _unread_document(suffix)
    else:
        converted = _failed("unsupported_format", f"{suffix or 'a file without suffix'} is not a "
                            f"post-mortem format emberline reads; {EXPORT_HINT}")
    if converted.text is not None and not re.search(r"\w", converted.text):
        what = "file" if converted.converter in ("markdown", "text") else "file converted to Markdown"
        converted = Converted(None, converted.problems + [Problem(
            "empty_after_conversion" if what != "file" else "empty_file",
            f"{what} has no text ({source_path}); not loaded")], converted.converter)
    return converted


def _failed(kind: str, message: str, converter: str = "none") -> Converted:
    return Converted(None, [Problem(kind, message)], converter)


def _guarded(convert, raw: bytes, converter: str) -> Converted:
    """A library failing on a file it should read is an ingest issue for that file, not a crash."""
    try:
        return convert(raw)
    except RecursionError:
        return _failed("unreadable", "markup is nested too deeply to convert; not loaded", converter)
    except Exception as err:  # noqa: BLE001 - any library error on one file must not stop the run
        return _failed("unreadable", f"{converter} could not convert the file "
                       f"({type(err).__name__}: {err}); not loaded", converter)


# --- text and Markdown -----------------------------------------------------------------------

def _decode(raw: bytes) -> tuple[str, list[Problem]]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        try:
            text, encoding = raw.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = raw.decode("latin-1"), "Latin-1"
        return text, [Problem(
            "not_utf8",
            f"byte 0x{raw[err.start]:02x} at offset {err.start} is not valid UTF-8; read as {encoding}: "
            "check accented letters and quotes, and re-save the file as UTF-8", line, "warning")]


def _markdown(raw: bytes) -> Converted:
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _failed("binary_file", "file holds binary data (NUL bytes), not text; not loaded")
    text, problems = _decode(raw)
    return Converted(text.replace("\r\n", "\n").replace("\r", "\n"), problems, "markdown")


_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_CAPS_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*[.)]?\s+)?[A-Z][A-Z0-9 &/,'()\-]*[A-Z)]:?$")
_TEXT_BULLET = re.compile(r"^(\s*)[•◦▪‣●○■]\s+")
_LIST_OR_BLOCK = re.compile(r"^\s*(?:[-*+>#|]|\d+[.)])\s")


def _plain_text(raw: bytes) -> Converted:
    converted = _markdown(raw)
    if converted.text is None:
        return converted
    lines = converted.text.split("\n")
    out = list(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        previous_blank = i == 0 or not lines[i - 1].strip()
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if (stripped and previous_blank and len(stripped) <= 120 and _SETEXT_UNDERLINE.match(underline)
                and len(underline.strip()) >= 3 and not _LIST_OR_BLOCK.match(line)):
            out[i] = ("# " if underline.strip()[0] == "=" else "## ") + stripped
            out[i + 1] = ""  # keep the line count, so a line number is still the file's line
        elif (previous_blank and len(stripped) <= 80 and sum(c.isalpha() for c in stripped) >= 4
              and _CAPS_HEADING.match(stripped)):
            out[i] = "## " + stripped.rstrip(":")
        else:
            out[i] = _TEXT_BULLET.sub(r"\1- ", out[i])
    return Converted("\n".join(out), converted.problems, "text")


# --- HTML ------------------------------------------------------------------------------------

# Base64 pictures inlined by exports: megabytes of markup that never become text.
_DATA_URI = re.compile(rb"""data:[\w.+-]+/[\w.+-]+;base64,[A-Za-z0-9+/=\s]{256,}""")
_REMOVED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
                 "canvas", "form", "button", "input", "select", "textarea", "nav", "aside", "head",
                 "link", "meta", "img", "picture", "video", "audio")
_CSS_RULE = re.compile(r"\.([\w-]+)\s*\{([^}]*)\}")
_BOLD = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)")
_MONOSPACE = re.compile(r"font-family\s*:[^;]*(?:courier|consolas|monaco|menlo|mono)", re.I)
_GOOGLE_LIST_LEVEL = re.compile(r"^lst-kix_[\w]+-(\d+)$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_PSEUDO_HEADING_MAX_CHARS = 80


def _html(raw: bytes, encoding: str | None = None) -> Converted:
    if len(raw) > MAX_EXPORT_BYTES:
        return _too_large(len(raw), MAX_EXPORT_BYTES, "HTML export")
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _failed("binary_file", "file holds binary data (NUL bytes), not HTML; not loaded", "markdownify")
    markup = _DATA_URI.sub(b"data:,", raw)
    if len(markup) > MAX_MARKUP_BYTES:
        return _too_large(len(markup), MAX_MARKUP_BYTES, "HTML markup (pictures left out)")
    return _html_markup(markup, "markdownify", encoding)


def _html_markup(markup: bytes | str, converter: str, encoding: str | None = None) -> Converted:
    # With bytes, BeautifulSoup finds the encoding (BOM, <meta charset>, then detection);
    # a web archive's MIME header names it.
    soup = BeautifulSoup(markup, "lxml", from_encoding=encoding if isinstance(markup, bytes) else None)
    # One walk of the tree, then lists in Python: bs4's find_all walks the whole tree per call,
    # which made a long export take ten walks.
    tags = _tags(soup)
    classes = _css_classes(tags)
    title = _page_title(soup, tags)
    root = _content_root(soup, tags)
    tags = _remove(_tags(root), lambda tag: tag.name in _REMOVED_TAGS)
    _unwrap_google_links(tags)
    _google_title_and_lists(tags)
    _confluence_tasks(tags)
    _pseudo_headings(tags, classes)
    _monospace_paragraphs(soup, tags, classes)
    if title and not any(tag.name == "h1" for tag in tags):
        heading = soup.new_tag("h1")
        heading.string = title
        root.insert(0, heading)
    return Converted(_markdownify(root), [], converter)


def _tags(node) -> list[Tag]:
    """Every element below `node`, in document order."""
    return [d for d in node.descendants if isinstance(d, Tag)]


def _remove(tags: list[Tag], unwanted) -> list[Tag]:
    """Decompose each tag `unwanted` picks, with its subtree; the tags left, in order.

    Tracks what went by id: bs4's `Tag.decomposed` looks up an unset attribute through
    `Tag.__getattr__`, which is a find() over the subtree, so asking it of every tag is quadratic.
    """
    gone: set[int] = set()
    for tag in tags:
        if id(tag) not in gone and unwanted(tag):
            gone.add(id(tag))
            gone.update(id(below) for below in _tags(tag))
            tag.decompose()
    return [tag for tag in tags if id(tag) not in gone]


def _too_large(size: int, limit: int, what: str) -> Converted:
    return _failed("too_large", f"{what} is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB a "
                   "post-mortem can be; not loaded: split the page, or export it without "
                   "attachments as Markdown, HTML or DOCX")


def _css_classes(tags: list[Tag]) -> dict[str, set[str]]:
    """Class name -> {"bold", "monospace"}, from the document's own <style> (Google Docs)."""
    found: dict[str, set[str]] = {}
    for style in (tag for tag in tags if tag.name == "style"):
        for name, body in _CSS_RULE.findall(style.get_text()):
            traits = found.setdefault(name, set())
            if _BOLD.search(body):
                traits.add("bold")
            if _MONOSPACE.search(body):
                traits.add("monospace")
    return found


def _page_title(soup, tags: list[Tag]) -> str | None:
    confluence_title = next((tag for tag in tags if tag.get("id") == "title-text"), None)
    if confluence_title is not None:
        text = confluence_title.get_text(" ", strip=True)
        return re.sub(r"^[^:]{1,80} : ", "", text) or None  # "Space : Page" -> "Page"
    if soup.title is not None:
        return soup.title.get_text(" ", strip=True) or None
    return None


def _content_root(soup, tags: list[Tag]):
    """The element that holds the post-mortem: Confluence's main content, the <main> or the one
    <article>, else the body without its site header, footer and Confluence chrome."""
    for found in (next((tag for tag in tags if tag.get("id") == "main-content"), None),
                  next((tag for tag in tags if tag.name == "main"), None)):
        if found is not None:
            return found
    articles = [tag for tag in tags if tag.name == "article"]
    if len(articles) == 1:
        return articles[0]
    _remove(tags, lambda tag: (tag.name in ("footer", "header") and tag.find_parent("article") is None)
            or tag.get("id") in ("breadcrumb-section", "footer", "navigation", "page-metadata"))
    return soup.body or soup


def _unwrap_google_links(tags: list[Tag]) -> None:
    for link in tags:
        if link.name != "a" or not link.get("href"):
            continue
        parts = urlsplit(link["href"])
        if parts.netloc.endswith("google.com") and parts.path == "/url":
            target = parse_qs(parts.query).get("q")
            if target:
                link["href"] = target[0]


def _google_title_and_lists(tags: list[Tag]) -> None:
    for paragraph in tags:
        if paragraph.name == "p" and "title" in paragraph.get("class", []):
            paragraph.name = "h1"
    # Google Docs writes a nested list as a sibling list whose class ends in its level.
    last_item_at_level: dict[int, Tag] = {}
    for lst in tags:
        if lst.name not in ("ul", "ol"):
            continue
        level = next((int(m.group(1)) for c in lst.get("class", []) if (m := _GOOGLE_LIST_LEVEL.match(c))), None)
        if level is None:
            continue
        items = lst.find_all("li", recursive=False)
        parent_item = last_item_at_level.get(level - 1) if level > 0 else None
        if parent_item is not None:
            parent_item.append(lst.extract())
        if items:
            last_item_at_level[level] = items[-1]
            for deeper in [k for k in last_item_at_level if k > level]:
                del last_item_at_level[deeper]


def _confluence_tasks(tags: list[Tag]) -> None:
    for task_list in tags:
        if task_list.name == "ul" and "inline-task-list" in task_list.get("class", []):
            for item in task_list.find_all("li", recursive=False):
                item.insert(0, "[x] " if "checked" in item.get("class", []) else "[ ] ")


def _has_trait(tag: Tag, trait: str, classes: dict[str, set[str]]) -> bool:
    if trait == "bold" and tag.name in ("b", "strong"):
        return True
    if any(trait in classes.get(name, ()) for name in tag.get("class", [])):
        return True
    style = tag.get("style", "")
    return bool((_BOLD if trait == "bold" else _MONOSPACE).search(style)) if style else False


def _all_text_has(paragraph: Tag, trait: str, classes: dict[str, set[str]]) -> bool:
    """Every non-blank text in the paragraph sits inside an element with the trait."""
    texts = [t for t in paragraph.find_all(string=True) if t.strip()]
    if not texts:
        return False
    for text in texts:
        node, marked = text.parent, False
        while node is not None and node is not paragraph.parent:
            if _has_trait(node, trait, classes):
                marked = True
                break
            node = node.parent
        if not marked:
            return False
    return True


def _pseudo_headings(tags: list[Tag], classes: dict[str, set[str]]) -> None:
    """A paragraph that is one short bold line is a heading in docs that never use heading styles."""
    level = 2
    for element in tags:
        if element.name in _HEADINGS:
            if "title" not in element.get("class", []):
                level = int(element.name[1])
            continue
        if element.name != "p":
            continue
        text = element.get_text(" ", strip=True)
        # Cheapest tests first: this runs on every paragraph of a long export.
        if (not text or len(text) > _PSEUDO_HEADING_MAX_CHARS or text[-1] in ".,;!?"
                or not _all_text_has(element, "bold", classes)
                or element.find_parent(["li", "td", "th", "table", "blockquote"]) is not None):
            continue
        element.name = f"h{level}"
        element.attrs = {}
        element.string = text.rstrip(":").strip()


def _monospace_paragraphs(soup, tags: list[Tag], classes: dict[str, set[str]]) -> None:
    """Runs of Courier paragraphs (how Google Docs shows code) become one <pre> block."""
    if not any("monospace" in traits for traits in classes.values()) and not any(
            _MONOSPACE.search(tag.get("style", "")) for tag in tags if tag.get("style")):
        return
    run: list[Tag] = []

    def flush() -> None:
        if run:
            pre = soup.new_tag("pre")
            pre.string = "\n".join(p.get_text() for p in run)
            run[0].insert_before(pre)
            for paragraph in run:
                paragraph.decompose()
            run.clear()

    for paragraph in tags:
        if paragraph.name != "p":
            continue
        if _all_text_has(paragraph, "monospace", classes) and paragraph.find_parent(["pre", "table"]) is None:
            if run and paragraph.find_previous_sibling() is not run[-1]:
                flush()
            run.append(paragraph)
        else:
            flush()
    flush()


def _code_language(pre) -> str:
    params = pre.get("data-syntaxhighlighter-params", "")  # Confluence code macro
    match = re.search(r"brush:\s*([\w+#-]+)", params)
    if match:
        return match.group(1)
    for name in pre.get("class", []) + [c for code in pre.find_all("code") for c in code.get("class", [])]:
        if name.startswith(("language-", "lang-")):
            return name.split("-", 1)[1]
    return ""


class _PipeSafeConverter(MarkdownConverter):
    """A "|" inside a cell would end the cell in a pipe table."""

    def convert_td(self, el, text, parent_tags):
        return super().convert_td(el, text.replace("|", "\\|"), parent_tags)

    def convert_th(self, el, text, parent_tags):
        return super().convert_th(el, text.replace("|", "\\|"), parent_tags)


def _markdownify(root) -> str:
    converter = _PipeSafeConverter(heading_style="ATX", bullets="-", table_infer_header=True,
                                  code_language_callback=_code_language, autolinks=True,
                                  # Backslashes before "_", "*" or "&" would reach the warehouse's
                                  # texts; a "- " or "1. " typed into a paragraph was meant as a list.
                                  escape_misc=False, escape_underscores=False, escape_asterisks=False)
    text = converter.convert_soup(root)
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


# --- DOCX ------------------------------------------------------------------------------------

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Word's own paragraph style names that mammoth's default map leaves as plain paragraphs.
_DOCX_STYLE_MAP = "\n".join([
    "p[style-name='Title'] => h1:fresh",
    "p[style-name='Subtitle'] => p:fresh",
    "p[style-name='Code'] => pre:separator('\\n')",
    "p[style-name='HTML Preformatted'] => pre:separator('\\n')",
])
# mammoth takes about 3-4 s per MB of document.xml (bench/formats.py); a 30-page post-mortem
# has well under 1 MB.
MAX_DOCX_XML_BYTES = 4_000_000


def _docx(raw: bytes) -> Converted:
    if raw.startswith(_OLE_SIGNATURE):
        # An encrypted .docx is an OLE compound file holding the encrypted package.
        if "EncryptionInfo".encode("utf-16-le") in raw:
            return _failed("password_protected", "the .docx is password-protected, so its text cannot be "
                           "read; not loaded: remove the password (Word: File > Info > Protect Document) "
                           "and save again, or " + EXPORT_HINT, "mammoth+markdownify")
        return _failed("unsupported_format", "this is a Word 97-2003 .doc file saved with a .docx name; "
                       "not loaded: open it in Word and save as .docx, or " + EXPORT_HINT,
                       "mammoth+markdownify")
    if len(raw) > MAX_EXPORT_BYTES:
        return _too_large(len(raw), MAX_EXPORT_BYTES, "DOCX file")
    try:
        package = zipfile.ZipFile(io.BytesIO(raw))
        document = package.getinfo("word/document.xml")
    except zipfile.BadZipFile:
        return _failed("corrupt_docx", "the .docx is damaged (not a readable zip package); not loaded: "
                       "open it in Word or Google Docs and save it again", "mammoth+markdownify")
    except KeyError:
        return _failed("corrupt_docx", "the .docx has no word/document.xml, so it is not a Word document; "
                       "not loaded: " + EXPORT_HINT, "mammoth+markdownify")
    if document.file_size > MAX_DOCX_XML_BYTES:
        return _too_large(document.file_size, MAX_DOCX_XML_BYTES, "DOCX text (word/document.xml, unpacked)")
    try:
        package.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
        return _failed("corrupt_docx", f"the .docx is damaged ({err}); not loaded: open it in Word or "
                       "Google Docs and save it again", "mammoth+markdownify")
    result = mammoth.convert_to_html(io.BytesIO(raw), style_map=_DOCX_STYLE_MAP,
                                     convert_image=mammoth.images.img_element(lambda image: {}))
    if len(result.value) > MAX_MARKUP_BYTES:
        return _too_large(len(result.value), MAX_MARKUP_BYTES, "DOCX text")
    return _html_markup(result.value, "mammoth+markdownify")


def _web_archive(raw: bytes) -> Converted:
    """The HTML page inside a MIME web archive (.mht, Confluence's Word export), or HTML saved
    under a .doc name; a real Word 97-2003 .doc is an ingest issue."""
    if raw.startswith(_OLE_SIGNATURE):
        return _failed("unsupported_format", "Word 97-2003 .doc files are not read; not loaded: open it in "
                       "Word and save as .docx, or " + EXPORT_HINT)
    if len(raw) > MAX_EXPORT_BYTES:
        return _too_large(len(raw), MAX_EXPORT_BYTES, "web archive")
    head = raw[:4096].lstrip()
    if re.search(rb"(?im)^mime-version\s*:", head):
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in message.walk():
            if part.get_content_type() == "text/html":
                return _html(part.get_payload(decode=True) or b"", part.get_content_charset())
        return _failed("unsupported_format", "the web archive holds no HTML page; not loaded: " + EXPORT_HINT)
    if head[:1] == b"<":
        return _html(raw)
    return _failed("unsupported_format", "not a web archive, HTML or a Word 97-2003 file emberline can "
                   "tell apart; not loaded: " + EXPORT_HINT)


def _unread_document(suffix: str) -> Converted:
    reasons = {
        ".pdf": "PDF text comes out without its headings, lists or tables, so causes and action items "
                "would be lost",
        ".odt": "OpenDocument files are not read",
        ".rtf": "RTF files are not read",
        ".pages": "Apple Pages files are not read",
    }
    return _failed("unsupported_format", f"{reasons[suffix]}; not loaded: {EXPORT_HINT}")
