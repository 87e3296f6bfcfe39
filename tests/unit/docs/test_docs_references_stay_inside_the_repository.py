"""Every reference points inside the repository: no file names a design document, a folder or
an absolute path that only exists on some machine, and every relative link of the docs leads
to a file (and heading) that is there."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# What once pointed outside: the design documents of the team's shared folder (now
# docs/design.md, docs/seed.md), that folder itself, its "shared names", and absolute paths of
# the machines the project was written on.
OUTSIDE = {
    "the old design document (docs/design.md now)": re.compile(r"\bDESIGN\.md\b"),
    "the old seed document (docs/seed.md now)": re.compile(r"\bSEED\.md\b"),
    "the team's style notes (not in the repository)": re.compile(r"\bSTYLE\.md\b"),
    "the team's shared folder": re.compile(r"\.\./shared\b|(?<![\w./-])shared/[A-Z]"),
    "'shared names' (wattcast.crd.constants)": re.compile(r"\bshared names\b", re.IGNORECASE),
    "an absolute path of a work machine": re.compile(r"(?<![\w.:/-])/work/"),
}
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@cache
def repository_files() -> tuple[str, ...]:
    """What the repository holds: tracked files and new ones git does not ignore."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = listing.stdout.decode().split("\0")
    return tuple(sorted(n for n in names if n and (ROOT / n).is_file()))


def text_of(name: str) -> str | None:
    try:
        return (ROOT / name).read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # a binary file: nothing to point anywhere


def references_outside(text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in OUTSIDE.items():
            if pattern.search(line):
                found.append(f"line {number}: {what}: {line.strip()[:120]}")
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in _HEADING.findall(_FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def broken_links(name: str, markdown: str) -> list[str]:
    """Relative links of the Markdown file `name` that lead nowhere, or out of the repository."""
    problems = []
    prose = _CODE.sub("", _FENCE.sub("", markdown))
    for target in _LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        if not path_part:
            if anchor not in anchors(markdown):
                problems.append(f"{target}: {name} has no heading #{anchor}")
            continue
        if path_part.startswith("/"):
            problems.append(f"{target}: an absolute path; link relative to {name}")
            continue
        resolved = ((ROOT / name).parent / path_part).resolve()
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: leads out of the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            problems.append(f"{target}: {resolved.name} has no heading #{anchor}")
    return problems


def docs() -> list[str]:
    return [n for n in repository_files() if n == "README.md" or re.match(r"docs/.*\.md$", n)]


def test_no_file_points_outside_the_repository() -> None:
    offenders = {}
    for name in repository_files():
        if name == THIS:
            continue
        text = text_of(name)
        found = references_outside(text) if text is not None else []
        if found:
            offenders[name] = found
    assert not offenders, "references outside the repository:\n" + "\n".join(
        f"{name}: {line}" for name, lines in offenders.items() for line in lines
    )


def test_every_relative_link_of_the_docs_leads_somewhere() -> None:
    assert "docs/design.md" in docs() and "docs/seed.md" in docs()
    problems = {name: broken_links(name, (ROOT / name).read_text()) for name in docs()}
    assert not any(problems.values()), "\n".join(
        f"{name}: {p}" for name, found in problems.items() for p in found
    )


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        ("See DESIGN.md §3.", True),
        ("the seed (SEED.md) says", True),
        ("as STYLE.md asks", True),
        ("open ../shared/notes.txt", True),
        ("cat shared/DESIGN.md", True),
        ("layout in the Shared Names", True),
        ("written to /work/main/models", True),
        ("See docs/design.md §3.", False),
        ("the seed (docs/seed.md)", False),
        ("a shared name of the contract", False),
        ("https://example.org/work/x and ./work/y", False),
    ],
    ids=[
        "design",
        "seed",
        "style",
        "shared-folder",
        "shared-file",
        "shared-names",
        "work-path",
        "docs-design",
        "docs-seed",
        "a-shared-name",
        "urls-and-relative",
    ],
)
def test_what_counts_as_pointing_outside(line: str, outside: bool) -> None:
    assert bool(references_outside(line)) is outside


def test_broken_links_are_found(tmp_path: Path) -> None:
    text = (
        "[ok](design.md#2-trainingjob-group-wattcastdev-version-v1alpha1-short-name-tj) "
        "[web](https://example.org/x) [top](#the-heading) `[code](nowhere.md)`\n"
        "[gone](nowhere.md) [anchor](design.md#no-such-heading) [out](../../../etc/hosts) "
        "[abs](/etc/hosts)\n\n# The heading\n"
    )
    problems = broken_links("docs/a-page.md", text)
    assert [p.split(":")[0] for p in problems] == [
        "nowhere.md",
        "design.md#no-such-heading",
        "../../../etc/hosts",
        "/etc/hosts",
    ]


def test_github_heading_anchors() -> None:
    assert slug("2.1 What the REST API shows") == "21-what-the-rest-api-shows"
    assert slug("Real cluster (kind or k3d)") == "real-cluster-kind-or-k3d"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}
