"""The probe texts parity is checked on: short, long, odd and empty, in several registers."""

from __future__ import annotations

PROBE = [
    "",
    "ok",
    "A man is playing a guitar.",
    "Someone plays an instrument on a stage in front of a small crowd.",
    "The quarterly report shows revenue grew 12% while operating costs fell.",
    "WINNER!! You have been selected to receive a £900 prize reward! Call 09061701461 to claim.",
    "Are we still on for dinner at 7? I'll bring the wine.",
    "How do I reset my password if I no longer have access to my email?",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "def add(a, b):\n    return a + b",
    "The court ruled that the contract was void because one party lacked capacity.",
    "lol ur so funny 😂😂 see u tmrw",
    "Tides are the rise and fall of sea levels caused by the gravitational pull of the Moon.",
    "Please find attached the invoice for services rendered in March.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121.",
    "Gravity bends light, an effect first confirmed during the solar eclipse of 1919.",
    "What is the boiling point of water at the top of Mount Everest?",
    "I'm sorry, I can't make it today, something came up at work.",
    " ".join(["The history of the Roman Empire spans many centuries of conquest, reform and decline."] * 30),
    " ".join(["Bread dough rises because yeast ferments sugars and releases carbon dioxide."] * 12),
    "12345 67890",
    "???!!!...",
]
