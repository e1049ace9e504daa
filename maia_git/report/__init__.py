"""``maia report``: a static HTML site of the workspace (matplotlib charts, Jinja2 pages).

Needs the optional extra: ``pip install 'maia-git[report]'``.
"""
