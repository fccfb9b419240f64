"""The workshop pages' strings, in Danish and English (a table of their own beside ``ui.i18n``'s,
looked up the same one way, ``assistant.i18n.lookup``). The pages speak the workshop's language,
not the browser's.

Example:
    >>> w("ws_ask_button", "en")
    'Send question'
"""

from __future__ import annotations

from assistant.i18n import Strings, lookup

WS_STRINGS: Strings = {
    "nav_trainer": {"da": "Workshop: underviser", "en": "Workshop: trainer"},
    "nav_participant": {"da": "Workshop", "en": "Workshop"},
    # trainer: starting
    "ws_trainer_title": {"da": "Workshop for underviseren", "en": "Workshop for the trainer"},
    "ws_start_intro": {
        "da": "Start et rum, som deltagerne kan stille spørgsmål i fra deres telefoner. "
        "Assistenten svarer med kilder; du vælger, hvad alle ser.",
        "en": "Start a room participants can ask questions in from their phones. The "
        "assistant answers with sources; you choose what everyone sees.",
    },
    "ws_title_label": {"da": "Titel", "en": "Title"},
    "ws_language_label": {"da": "Workshoppens sprog", "en": "Workshop language"},
    "ws_admin_key": {"da": "Administratornøgle (hvis sat)", "en": "Admin key (if set)"},
    "ws_start_button": {"da": "Start workshop", "en": "Start workshop"},
    "ws_title_missing": {"da": "Giv workshoppen en titel.", "en": "Give the workshop a title."},
    "ws_resume": {"da": "Åbn en workshop igen", "en": "Reopen a workshop"},
    "ws_code_label": {"da": "Kode", "en": "Code"},
    "ws_token_label": {"da": "Undervisernøgle", "en": "Trainer token"},
    "ws_resume_button": {"da": "Åbn", "en": "Open"},
    # trainer: running
    "ws_join_at": {"da": "Deltag på", "en": "Join at"},
    "ws_code_big": {"da": "Kode: {code}", "en": "Code: {code}"},
    "ws_token_show": {"da": "Vis undervisernøglen", "en": "Show the trainer token"},
    "ws_token_help": {
        "da": "Hemmelig: den skal bruges for at åbne workshoppen igen (kode og nøgle). Gem den, "
        "men vis den ikke på projektoren.",
        "en": "Secret: it is needed to reopen the workshop (code and token). Keep it, but do "
        "not show it on the projector.",
    },
    "ws_projector": {"da": "Projektorvisning", "en": "Projector view"},
    "ws_projector_help": {
        "da": "Viser kun koden og spørgsmålet i spotlight, med svar og kilde, i stor skrift.",
        "en": "Shows only the code and the spotlight question with its answer and source, large.",
    },
    "ws_queue": {"da": "Spørgsmål", "en": "Questions"},
    "ws_queue_empty": {"da": "Ingen spørgsmål endnu.", "en": "No questions yet."},
    "ws_counts": {
        "da": "{pending} venter · {approved} godkendt · {hidden} skjult",
        "en": "{pending} pending · {approved} approved · {hidden} hidden",
    },
    "ws_state_pending": {"da": "Venter", "en": "Pending"},
    "ws_state_approved": {"da": "Godkendt", "en": "Approved"},
    "ws_state_hidden": {"da": "Skjult", "en": "Hidden"},
    "ws_answered_mark": {"da": "Besvaret", "en": "Answered"},
    "ws_spotlight_mark": {"da": "I spotlight", "en": "In the spotlight"},
    "ws_votes": {"da": "{n} stemmer", "en": "{n} votes"},
    "ws_approve": {"da": "Godkend", "en": "Approve"},
    "ws_hide": {"da": "Skjul", "en": "Hide"},
    "ws_spotlight": {"da": "Spotlight", "en": "Spotlight"},
    "ws_unspotlight": {"da": "Fjern spotlight", "en": "End spotlight"},
    "ws_answered": {"da": "Markér besvaret", "en": "Mark answered"},
    "ws_no_spotlight": {
        "da": "Intet spørgsmål i spotlight. Vælg et i listen.",
        "en": "No question in the spotlight. Pick one in the list.",
    },
    "ws_answer_pending": {"da": "Svaret er på vej …", "en": "The answer is on its way …"},
    "ws_answer_failed": {
        "da": "Assistenten kunne ikke svare lige nu.",
        "en": "The assistant could not answer just now.",
    },
    "ws_source": {"da": "Kilde", "en": "Source"},
    "ws_page_short": {"da": "s. {page}", "en": "p. {page}"},
    "ws_close": {"da": "Luk workshoppen", "en": "Close the workshop"},
    "ws_closed": {
        "da": "Workshoppen er lukket: ingen nye spørgsmål eller stemmer.",
        "en": "The workshop is closed: no new questions or votes.",
    },
    "ws_export": {"da": "Eksport", "en": "Export"},
    "ws_export_format": {"da": "Format", "en": "Format"},
    "ws_export_prepare": {"da": "Lav eksport", "en": "Prepare export"},
    "ws_export_download": {"da": "Hent {name}", "en": "Download {name}"},
    "ws_leave": {"da": "Forlad workshoppen", "en": "Leave the workshop"},
    # participant
    "ws_enter_code": {"da": "Skriv koden fra underviseren", "en": "Enter the trainer's code"},
    "ws_join_button": {"da": "Deltag", "en": "Join"},
    "ws_not_found": {
        "da": "Der findes ingen workshop med den kode. Tjek koden.",
        "en": "No workshop has this code. Check the code.",
    },
    "ws_question_label": {"da": "Dit spørgsmål", "en": "Your question"},
    "ws_name_label": {"da": "Navn (frivilligt)", "en": "Name (optional)"},
    "ws_ask_button": {"da": "Send spørgsmål", "en": "Send question"},
    "ws_sent": {
        "da": "Tak! Dit spørgsmål er sendt til underviseren.",
        "en": "Thank you! Your question has been sent to the trainer.",
    },
    "ws_empty_question": {"da": "Skriv et spørgsmål først.", "en": "Type a question first."},
    "ws_no_personal": {
        "da": "Skriv ikke personoplysninger om borgere (navne, CPR-numre).",
        "en": "Do not type personal data about citizens (names, CPR numbers).",
    },
    "ws_room_questions": {"da": "Spørgsmål i rummet", "en": "Questions in the room"},
    "ws_room_empty": {
        "da": "Ingen godkendte spørgsmål endnu.",
        "en": "No approved questions yet.",
    },
    "ws_mine_pending": {
        "da": "Dit spørgsmål – venter på underviseren",
        "en": "Your question – waiting for the trainer",
    },
    "ws_vote": {"da": "Stem ({n})", "en": "Vote ({n})"},
    "ws_voted": {"da": "Stemt ({n})", "en": "Voted ({n})"},
    "ws_show_answer": {"da": "Svar og kilder", "en": "Answer and sources"},
    # study material
    "nav_study": {"da": "Forberedelse", "en": "Preparation"},
    "st_title": {"da": "Studiemateriale", "en": "Study material"},
    "st_intro": {
        "da": "Nøglepunkter, spørgsmål og svar og en lille quiz om et dokument eller et emne "
        "– alt citeret ordret fra materialet.",
        "en": "Key points, questions and answers and a short quiz on a document or a topic "
        "– all quoted verbatim from the material.",
    },
    "st_scope": {"da": "Grundlag", "en": "Based on"},
    "st_document": {"da": "Et dokument", "en": "A document"},
    "st_topic": {"da": "Et emne fra spørgsmålsbanken", "en": "A question-bank topic"},
    "st_pick_document": {"da": "Dokument", "en": "Document"},
    "st_pick_topic": {"da": "Emne", "en": "Topic"},
    "st_build": {"da": "Lav materialet", "en": "Build the material"},
    "st_building": {"da": "Samler materialet …", "en": "Gathering the material …"},
    "st_key_points": {"da": "Nøglepunkter", "en": "Key points"},
    "st_faq": {"da": "Spørgsmål og svar", "en": "Questions and answers"},
    "st_quiz": {"da": "Quiz", "en": "Quiz"},
    "st_none": {"da": "Intet fundet i materialet.", "en": "Nothing found in the material."},
    "st_options": {"da": "Svarmuligheder", "en": "Options"},
    "st_answer": {"da": "Svar", "en": "Answer"},
    "st_download": {"da": "Hent som Markdown", "en": "Download as Markdown"},
}


def w(key: str, lang: str, **kwargs: object) -> str:
    """The workshop string for ``key`` in ``lang``, formatted with ``kwargs``."""
    return lookup(WS_STRINGS, key, lang, **kwargs)
