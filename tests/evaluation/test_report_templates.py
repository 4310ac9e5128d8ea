"""The report's markup lives in Jinja2 templates, packaged with kotae; Python computes."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import resources
from pathlib import Path

import jinja2

from kotae.evaluation import report

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = ("report.html.j2", "charts.html.j2", "report.css", "report.js")
# an HTML or SVG tag, a CSS rule body ("{ color: ...") or a JavaScript function
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]|\{\s*[a-z-]+\s*:|\bfunction\s*\(")


def test_report_py_holds_no_markup_css_or_script() -> None:
    source = Path(report.__file__).read_text(encoding="utf-8")
    strings = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    docstrings = {
        ast.get_docstring(node, clean=False)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
    }
    markup = [s for s in strings if s not in docstrings and MARKUP.search(s)]
    assert markup == []


def test_the_templates_ship_in_the_package() -> None:
    folder = resources.files("kotae.evaluation") / "templates"
    assert all((folder / name).is_file() for name in TEMPLATES)
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "evaluation/templates/*" in config["tool"]["setuptools"]["package-data"]["kotae"]
    assert any(dep.startswith("jinja2") for dep in config["project"]["dependencies"])


def test_the_templates_autoescape_and_reject_undefined_names() -> None:
    environment = report._environment()
    page = environment.get_template("report.html.j2")
    assert page.environment.autoescape is True
    assert environment.undefined is jinja2.StrictUndefined
    field = environment.from_string("<p title='{{ text }}'>{{ text }}</p>")
    assert field.render(text='<b>"it\'s"</b>') == (
        "<p title='&lt;b&gt;&quot;it&#x27;s&quot;&lt;/b&gt;'>&lt;b&gt;&quot;it&#x27;s&quot;"
        "&lt;/b&gt;</p>"
    )
