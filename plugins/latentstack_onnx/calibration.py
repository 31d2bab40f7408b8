"""Texts the quantised exports calibrate on; kept apart from the parity probe texts.

The int8 encoder export's smoothing needs each channel's largest activation, the int4
decoder export's weight scaling each channel's mean magnitude (the texts as chat prompts).
The large channels are a property of the model rather than of the text, so a few dozen
varied texts find them; ``latentstack export onnx --calibrate FILE`` uses your own instead.
"""

from __future__ import annotations

CALIBRATION = [
    "hi",
    "Thanks!",
    "See you at 6 by the station.",
    "Can you pick up milk on the way home?",
    "Your parcel could not be delivered. Reply YES to reschedule, or call 0800 123 456.",
    "URGENT! Your mobile number has won a cash prize. Text CLAIM to 80082 now.",
    "Congratulations, you've been chosen for a free holiday. Call before midnight!",
    "ok cool, running 10 mins late, save me a seat",
    "Did you watch the match last night? What a finish.",
    "The central bank left interest rates unchanged, citing slowing inflation.",
    "Researchers found that the new alloy resists corrosion twice as long as steel.",
    "The museum reopens next spring after a three-year renovation of its east wing.",
    "Heavy rain is expected across the north on Tuesday, with flooding possible near rivers.",
    "Which planet in the solar system has the most moons?",
    "How long should I boil an egg for a soft yolk?",
    "Why does ice float on water?",
    "What were the main causes of the French Revolution?",
    "Mitochondria produce most of the cell's supply of adenosine triphosphate.",
    "The algorithm runs in O(n log n) time and uses linear extra memory.",
    "To install the package, run pip install and restart the kernel.",
    "for i in range(10):\n    print(i * i)",
    "SELECT name, COUNT(*) FROM orders GROUP BY name ORDER BY 2 DESC;",
    "Error 404: the requested page was not found on this server.",
    "The tenant must give thirty days' written notice before ending the lease.",
    "Patients reported fewer headaches after four weeks of treatment.",
    "Add the flour slowly, stirring until the batter is smooth.",
    "The river freezes solid for four months of the year.",
    "She signed the treaty in 1648, ending decades of war.",
    "El tren sale a las ocho de la mañana.",
    "Je voudrais réserver une table pour deux personnes.",
    "Привет, как дела?",
    "北京是中国的首都。",
    "🎉🎉 happy birthday!!! 🎂",
    "$$$ 100% FREE $$$ click here >>> www.example.com",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
    "N/A",
    "The committee will review every application and publish its decision within six weeks; "
    "applicants who are not selected may ask for written feedback, and those who are selected "
    "must confirm their place by the end of the month.",
    " ".join(["Volcanic soil is fertile because it is rich in minerals such as potassium and phosphorus."] * 8),
    " ".join(["Trains, buses and ferries connect the islands, though winter timetables run less often."] * 20),
]
