"""MkDocs hook: the Sphinx roles in cxsim's docstrings (:func:`x`, :class:`~a.b.C`) become cross-references.

mkdocstrings renders docstrings as Markdown, where a role would stay as text (":func:" before the
name). Here each becomes an optional autorefs link: to the object's entry when the API reference
documents it, plain code otherwise.
"""

import re

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const):\s*<code>(~?)([\w.]+)</code>")


def _autoref(match: re.Match) -> str:
    tilde, target = match.groups()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, **kwargs) -> str:
    return ROLE.sub(_autoref, html)
