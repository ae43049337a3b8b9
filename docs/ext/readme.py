"""MkDocs hook: pages that show parts of the README take them from README.md at
build time, so the site and the README cannot drift apart.

A page line

    <!-- readme: from "# Zen" to "## Performance" -->

becomes the README's lines from the first heading up to the second (not
included), and

    <!-- readme: section "## Performance" -->

the body of that section (without its heading) up to the next heading of the
same or a higher level. A heading that is not in the README fails the build.
Links into docs/ (`docs/distributed.md`) are rewritten relative to the page;
any other relative link is left as it is, and strict mode reports it.
"""
import posixpath
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

_DIRECTIVE = re.compile(r'^<!-- readme: (?:from "(?P<start>[^"]+)" to "(?P<end>[^"]+)"'
                        r'|section "(?P<section>[^"]+)") -->\s*$', re.MULTILINE)
_LINK = re.compile(r"\]\(docs/(?P<target>[^)\s]+)\)")


def _headings(lines):
    """(line index, heading text) of the Markdown headings outside code fences."""
    fenced = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            yield index, line.rstrip()


def _find(headings, heading, readme):
    for index, text in headings:
        if text == heading:
            return index
    raise PluginError(f"{readme}: no heading {heading!r}, which a docs page includes "
                      f"(docs/ext/readme.py)")


def _excerpt(match, lines, readme):
    headings = list(_headings(lines))
    if match["section"]:
        start = _find(headings, match["section"], readme)
        level = len(match["section"].split(" ")[0])
        end = next((i for i, text in headings
                    if i > start and len(text.split(" ")[0]) <= level), len(lines))
        start += 1
    else:
        start = _find(headings, match["start"], readme)
        end = _find(headings, match["end"], readme)
    return "\n".join(lines[start:end]).strip("\n") + "\n"


def on_page_markdown(markdown, page, config, files):
    """Replaces each `<!-- readme: ... -->` line of a page with that part of the README."""
    if "<!-- readme:" not in markdown:
        return markdown
    readme = Path(config["config_file_path"]).parent / "README.md"
    lines = readme.read_text(encoding="utf-8").split("\n")
    page_dir = posixpath.dirname(page.file.src_uri)

    def relink(text):
        return _LINK.sub(lambda m: "](" + posixpath.relpath(m["target"], page_dir or ".") + ")",
                         text)

    return _DIRECTIVE.sub(lambda m: relink(_excerpt(m, lines, readme.name)), markdown)
