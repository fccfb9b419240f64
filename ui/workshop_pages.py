"""The trainers' pages for ``st.navigation``: the workshop and the study material in the menu,
the participants' page only at its join URL (``/workshop?code=…``, as
``KVA_WORKSHOP_JOIN_URL`` says)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ui.workshop_i18n import w


def workshop_pages(pages_dir: Path, lang: str) -> list[Any]:
    return [
        st.Page(
            pages_dir / "workshop_trainer.py",
            title=w("nav_trainer", lang),
            icon=":material/groups:",
            url_path="trainer",
        ),
        st.Page(
            pages_dir / "study.py",
            title=w("nav_study", lang),
            icon=":material/school:",
            url_path="study",
        ),
        st.Page(
            pages_dir / "workshop.py",
            title=w("nav_participant", lang),
            icon=":material/front_hand:",
            url_path="workshop",
            visibility="hidden",
        ),
    ]
