"""Entry point: ``streamlit run ui/app.py``. Sets up language, presentation mode and navigation.

The UI reads all data from the API at ``API_URL`` (default http://127.0.0.1:8000).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` only puts ui/ on sys.path; the pages import `ui.*` from the repo root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui.i18n import DEFAULT_LANG, t  # noqa: E402
from ui.workshop_pages import workshop_pages  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# With client.toolbarMode = "minimal" (.streamlit/config.toml) and no menu items set here,
# Streamlit shows no app menu at all: no developer items, nothing in English only.
st.set_page_config(
    # An emoji icon is drawn in the browser (a data: URL); a :material/...: one is fetched
    # from fonts.gstatic.com on every page view, which fails offline.
    page_title="Kvalitetsassistenten", page_icon="📋", layout="wide"
)

# Language and presentation widgets live in each page (common.sidebar_settings); here we only
# need the chosen language for the navigation labels.
lang = st.session_state.get("lang", DEFAULT_LANG)

pages = [
    st.Page(
        PAGES_DIR / "chat.py", title=t("nav_chat", lang), icon=":material/forum:", default=True
    ),
    st.Page(
        PAGES_DIR / "documents.py", title=t("nav_documents", lang), icon=":material/library_books:"
    ),
    *workshop_pages(PAGES_DIR, lang),
]
st.navigation(pages).run()
