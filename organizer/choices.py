"""Fixed vocabularies: stored as slugs, shown as translated labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

EVENT_KINDS = {
    "rally": _l("Rally or march"),
    "demonstration": _l("Demonstration or vigil"),
    "aid_drive": _l("Aid drive"),
    "community_service": _l("Community service"),
    "memorial": _l("Memorial"),
    "dialogue": _l("Dialogue circle"),
    "training": _l("Training"),
    "protective_presence": _l("Protective presence"),
    "advocacy": _l("Advocacy"),
    "meeting": _l("Meeting"),
    "other": _l("Other"),
}

CAUSES = {
    "peace": _l("Peace and ending the occupation"),
    "equality": _l("Equality and civil rights"),
    "humanitarian": _l("Humanitarian aid"),
    "bereavement": _l("Bereaved families"),
    "education": _l("Shared education"),
    "women": _l("Women's leadership"),
    "hostages_prisoners": _l("Hostages and prisoners"),
    "land_housing": _l("Land and housing"),
    "nonviolence": _l("Nonviolence"),
    "democracy": _l("Democracy"),
}

REGIONS = {
    "jerusalem": _l("Jerusalem"),
    "tel_aviv": _l("Tel Aviv–Jaffa"),
    "haifa_north": _l("Haifa and the North"),
    "galilee": _l("Galilee"),
    "center": _l("Center"),
    "negev": _l("Negev / Naqab"),
    "west_bank": _l("West Bank"),
    "gaza_envelope": _l("Gaza border communities"),
    "abroad": _l("Abroad"),
}

LANGUAGE_NAMES = {"en": "English", "he": "עברית", "ar": "العربية"}
RTL_LANGUAGES = frozenset({"he", "ar"})

COMMON_TIMEZONES = (
    "Asia/Jerusalem",
    "Asia/Hebron",
    "Asia/Gaza",
    "Asia/Amman",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)
