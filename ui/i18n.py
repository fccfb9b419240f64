"""Every string the chat and documents pages show, in Danish and English (the workshop pages'
are in ``ui.workshop_i18n``); both are looked up the one way ``assistant.i18n`` has.

Keeping them in one table means a missing translation is a test failure, not a surprise in front
of a room of trainees. The table includes the handout's strings (``assistant.handout``), so the
screen and a handout name a document kind, a section or a page alike.
"""

from __future__ import annotations

from assistant.handout import HANDOUT_STRINGS, kind_label
from assistant.i18n import DEFAULT_LANG, Strings, label, lookup

__all__ = [
    "DEFAULT_LANG",
    "STARTER_QUESTIONS",
    "STRINGS",
    "fallback_label",
    "kind_label",
    "language_label",
    "t",
]

STRINGS: Strings = {
    **HANDOUT_STRINGS,
    "app_title": {"da": "Kvalitetsassistenten", "en": "Kvalitetsassistenten"},
    "tagline": {
        "da": "Spørg om kvalitet i socialpsykiatrien – svar med kilder fra det udgivne materiale.",
        "en": "Ask about quality in social psychiatry – answers with sources from the "
        "published material.",
    },
    "nav_chat": {"da": "Spørg", "en": "Ask"},
    "nav_documents": {"da": "Dokumenter", "en": "Documents"},
    "language_label": {"da": "Sprog / Language", "en": "Sprog / Language"},
    "presentation_mode": {"da": "Præsentationstilstand", "en": "Presentation mode"},
    "presentation_help": {
        "da": "Stor skrift og høj kontrast, så svaret kan læses fra bagerste række.",
        "en": "Large type and high contrast, readable from the back of the room.",
    },
    "privacy_notice": {
        "da": "Assistenten svarer kun ud fra det udgivne materiale. Skriv ikke "
        "personoplysninger om borgere (navne, CPR-numre, helbredsoplysninger).",
        "en": "The assistant answers from the published material only. Do not type "
        "personal data about citizens (names, CPR numbers, health details).",
    },
    "chat_placeholder": {"da": "Skriv dit spørgsmål …", "en": "Type your question …"},
    "starter_heading": {"da": "Prøv fx at spørge:", "en": "For example, ask:"},
    "new_conversation": {"da": "Ny samtale", "en": "New conversation"},
    "thinking": {"da": "Finder svar i materialet …", "en": "Searching the material …"},
    "sources": {"da": "Kilder", "en": "Sources"},
    "open_citation": {"da": "Vis kilde", "en": "Show source"},
    "quote_from_en": {
        "da": "Fra et engelsk dokument: {source}",
        "en": "From an English document: {source}",
    },
    "quote_from_da": {
        "da": "Fra et dansk dokument: {source}",
        "en": "From a Danish document: {source}",
    },
    "no_related": {"da": "Ingen relaterede passager fundet.", "en": "No related passages found."},
    "filters": {"da": "Afgræns søgningen", "en": "Narrow the search"},
    "filter_language": {"da": "Dokumentsprog", "en": "Document language"},
    "filter_language_all": {"da": "Alle sprog", "en": "All languages"},
    "choose": {"da": "Vælg …", "en": "Choose …"},
    "filter_kind": {"da": "Dokumenttype", "en": "Kind of document"},
    "filter_docs": {"da": "Bestemte dokumenter", "en": "Specific documents"},
    "lang_da": {"da": "Dansk", "en": "Danish"},
    "lang_en": {"da": "Engelsk", "en": "English"},
    "source_panel": {"da": "Kilde", "en": "Source"},
    "source_panel_empty": {
        "da": "Klik på en kilde [n] under svaret for at se den citerede passage her.",
        "en": "Click a source [n] below the answer to see the cited passage here.",
    },
    "kind": {"da": "Type", "en": "Kind"},
    "publisher": {"da": "Udgiver", "en": "Publisher"},
    "language": {"da": "Sprog", "en": "Language"},
    "read_whole_document": {
        "da": "Læs hele dokumentet her",
        "en": "Read the whole document here",
    },
    "open_in_documents": {
        "da": "Åbn på dokumentsiden ved dette sted",
        "en": "Open on the documents page at this place",
    },
    "feedback_prompt": {"da": "Var svaret nyttigt?", "en": "Was this answer useful?"},
    "feedback_up": {"da": "Nyttigt", "en": "Useful"},
    "feedback_down": {"da": "Ikke nyttigt", "en": "Not useful"},
    "feedback_comment": {"da": "Kommentar (valgfri)", "en": "Comment (optional)"},
    "feedback_send": {"da": "Send feedback", "en": "Send feedback"},
    "feedback_thanks": {"da": "Tak for din feedback!", "en": "Thank you for your feedback!"},
    "feedback_failed": {
        "da": "Feedback kunne ikke sendes lige nu.",
        "en": "Feedback could not be sent right now.",
    },
    "err_down": {
        "da": "Assistenten kan ikke nås lige nu. Prøv igen om lidt – eller kontakt den, "
        "der driver løsningen.",
        "en": "The assistant cannot be reached right now. Try again shortly – or contact "
        "whoever runs the service.",
    },
    "err_timeout": {
        "da": "Svaret tog for lang tid, så vi stoppede ventetiden. Prøv igen, eventuelt med "
        "et kortere spørgsmål.",
        "en": "The answer took too long, so we stopped waiting. Try again, perhaps with a "
        "shorter question.",
    },
    "err_rejected": {
        "da": "Forespørgslen blev afvist: {message}",
        "en": "The request was rejected: {message}",
    },
    "err_server": {
        "da": "Der skete en fejl hos assistenten. Prøv igen om lidt. ({message})",
        "en": "Something went wrong in the assistant. Please try again shortly. ({message})",
    },
    "err_auth": {
        "da": "Administration er slået fra, eller nøglen er forkert.",
        "en": "Administration is switched off, or the key is wrong.",
    },
    "err_not_found": {"da": "Ikke fundet.", "en": "Not found."},
    "export_heading": {"da": "Eksportér samtalen", "en": "Export the conversation"},
    "export_md": {"da": "Markdown", "en": "Markdown"},
    "export_docx": {"da": "Word (DOCX)", "en": "Word (DOCX)"},
    "export_pdf": {"da": "PDF", "en": "PDF"},
    "export_empty": {
        "da": "Stil et spørgsmål først – så kan samtalen eksporteres.",
        "en": "Ask a question first – then the conversation can be exported.",
    },
    "question_bank": {"da": "Spørgsmålsbank", "en": "Question bank"},
    "question_bank_help": {
        "da": "Spørgsmål til undervisning, ordnet efter materialets emner. Klik for at stille et.",
        "en": "Questions for teaching, grouped by the topics of the material. Click one to ask it.",
    },
    "question_bank_edit": {
        "da": "Listen redigeres i filen assistant/question_bank.yaml.",
        "en": "The list is edited in the file assistant/question_bank.yaml.",
    },
    "question_bank_empty": {
        "da": "Spørgsmålsbanken er tom (assistant/question_bank.yaml).",
        "en": "The question bank is empty (assistant/question_bank.yaml).",
    },
    "question_bank_broken": {
        "da": "Spørgsmålsbanken kunne ikke læses: {error}",
        "en": "The question bank could not be read: {error}",
    },
    "cpr_warning": {
        "da": "Dit spørgsmål så ud til at indeholde et CPR-nummer. Det er skjult i samtalen og i "
        "udskrifter. Skriv ikke personoplysninger om borgere.",
        "en": "Your question seemed to contain a CPR number. It is hidden in the conversation "
        "and in handouts. Do not type personal data about citizens.",
    },
    "other_versions": {"da": "Findes også som: {names}", "en": "Also available as: {names}"},
    "fell_back": {
        "da": "Den generative model gav ikke svaret ({reason}); her er de citater, der svarer.",
        "en": "The generative model did not give this answer ({reason}); these are the quotes "
        "that answer.",
    },
    "fallback_llm_unavailable": {"da": "kunne ikke nås", "en": "could not be reached"},
    "fallback_llm_timeout": {"da": "svarede for langsomt", "en": "answered too slowly"},
    "fallback_llm_rate_limited": {"da": "var optaget", "en": "was busy"},
    "fallback_llm_error": {"da": "fejlede", "en": "failed"},
    "fallback_format_ignored": {
        "da": "fulgte ikke svarformatet",
        "en": "did not follow the answer format",
    },
    "fallback_wrong_language": {
        "da": "svarede på et andet sprog",
        "en": "answered in another language",
    },
    "fallback_model_abstained": {"da": "fandt intet svar", "en": "found no answer"},
    "fallback_too_little_verified": {
        "da": "for lidt af svaret kunne findes i kilderne",
        "en": "too little of its answer was found in the sources",
    },
    "fallback_internal_error": {"da": "intern fejl", "en": "internal error"},
    "docs_title": {"da": "Materialet", "en": "The material"},
    "docs_intro": {
        "da": "Alle dokumenter, assistenten svarer ud fra.",
        "en": "All documents the assistant answers from.",
    },
    "docs_count": {"da": "{n} dokumenter", "en": "{n} documents"},
    "docs_empty": {"da": "Der er ingen dokumenter endnu.", "en": "There are no documents yet."},
    "col_title": {"da": "Titel", "en": "Title"},
    "col_language": {"da": "Sprog", "en": "Language"},
    "col_kind": {"da": "Type", "en": "Kind"},
    "col_published": {"da": "Udgivet", "en": "Published"},
    "col_chunks": {"da": "Passager", "en": "Chunks"},
    "col_translation": {"da": "Oversættelse", "en": "Translation"},
    "read_document": {"da": "Læs et dokument", "en": "Read a document"},
    "choose_document": {"da": "Vælg dokument", "en": "Choose document"},
    "choose_section": {"da": "Afsnit", "en": "Section"},
    "whole_text": {"da": "(hele teksten)", "en": "(whole text)"},
    "untitled_section": {"da": "(uden overskrift)", "en": "(untitled)"},
    "translation_of": {"da": "Oversættelse af", "en": "Translation of"},
    "translated_as": {"da": "Oversat som", "en": "Translated as"},
    "admin": {"da": "Administration", "en": "Administration"},
    "admin_key": {"da": "API-nøgle", "en": "API key"},
    "admin_key_help": {
        "da": "Kun for administratorer. Nøglen gemmes ikke.",
        "en": "Admins only. The key is not stored.",
    },
    "upload_files": {"da": "Upload dokumenter", "en": "Upload documents"},
    "upload_button": {"da": "Upload og indlæs", "en": "Upload and ingest"},
    "admin_how": {
        "da": "Upload og sletning er slået fra, indtil API'et startes med en nøgle, fx "
        "KVA_API_KEY=en-lang-hemmelig-nøgle make run. Indtast samme nøgle her.",
        "en": "Upload and delete are off until the API is started with a key, e.g. "
        "KVA_API_KEY=a-long-secret-key make run. Enter the same key here.",
    },
    "admin_how_on": {
        "da": "Administration er slået til. Indtast den nøgle, API'et er startet med.",
        "en": "Administration is on. Enter the key the API was started with.",
    },
    "upload_limits": {
        "da": "Word (.docx), PDF, HTML, Markdown eller tekst; højst {mb} MB pr. fil. Træk filerne "
        "hertil eller vælg dem.",
        "en": "Word (.docx), PDF, HTML, Markdown or text; at most {mb} MB per file. Drag the "
        "files here or choose them.",
    },
    "browse_files": {"da": "Vælg filer", "en": "Choose files"},
    "job_state_queued": {"da": "Venter på at blive indlæst …", "en": "Waiting to be ingested …"},
    "job_state_running": {"da": "Indlæser …", "en": "Ingesting …"},
    "job_state_done": {"da": "Indlæsning færdig.", "en": "Ingestion finished."},
    "job_state_failed": {"da": "Indlæsningen mislykkedes.", "en": "Ingestion failed."},
    "job_stage_load": {"da": "Læser filerne", "en": "Reading the files"},
    "job_stage_embed": {"da": "Indekserer passager", "en": "Indexing passages"},
    "job_done": {"da": "Indlæsning færdig.", "en": "Ingestion finished."},
    "job_done_files": {
        "da": "Indlæst: {names}. Dokumentlisten er opdateret.",
        "en": "Ingested: {names}. The list of documents is up to date.",
    },
    "job_failed": {"da": "Indlæsningen mislykkedes.", "en": "Ingestion failed."},
    "job_still_running": {
        "da": "Indlæsningen kører stadig – opdatér siden senere.",
        "en": "Ingestion is still running – refresh the page later.",
    },
    "delete_document": {"da": "Slet dokument", "en": "Delete document"},
    "delete_confirm": {
        "da": "Ja, slet det valgte dokument",
        "en": "Yes, delete the selected document",
    },
    "delete_button": {"da": "Slet", "en": "Delete"},
    "deleted": {"da": "Slettet: {title}.", "en": "Deleted: {title}."},
    "need_document": {"da": "Vælg et dokument først.", "en": "Choose a document first."},
    "choose_document_placeholder": {"da": "Vælg dokument …", "en": "Choose a document …"},
    "need_key": {"da": "Indtast API-nøglen først.", "en": "Enter the API key first."},
    "need_files": {"da": "Vælg mindst én fil.", "en": "Choose at least one file."},
    "upload_exists": {
        "da": "Der findes allerede et uploadet dokument med samme filnavn: {names}. Vil du "
        "erstatte det med den nye fil?",
        "en": "A document was uploaded before under the same file name: {names}. Replace it "
        "with the new file?",
    },
    "upload_replace_button": {"da": "Erstat", "en": "Replace"},
    "upload_keep_button": {"da": "Behold det gamle", "en": "Keep the old one"},
}

STARTER_QUESTIONS: dict[str, list[str]] = {
    "da": [
        "Hvad er kvalitet på botilbud og i bostøtte?",
        "Hvilke delinitiativer er der for øget kvalitet i socialpsykiatrien?",
        "Hvad betyder recovery for indsatsen?",
    ],
    "en": [
        "What is quality in housing and housing support?",
        "What are the sub-initiatives on enhanced quality in social psychiatry?",
        "What does recovery mean for the support?",
    ],
}


def t(key: str, lang: str, **kwargs: object) -> str:
    """The string for ``key`` in ``lang``, formatted with ``kwargs``; unknown lang falls back."""
    return lookup(STRINGS, key, lang, **kwargs)


def fallback_label(reason: str | None, lang: str) -> str:
    """Why a generative answer was replaced by quotes, in words; an unknown reason as-is."""
    return label(STRINGS, "fallback_", reason, lang) if reason else "?"


def language_label(code: str, lang: str) -> str:
    return label(STRINGS, "lang_", code, lang)
