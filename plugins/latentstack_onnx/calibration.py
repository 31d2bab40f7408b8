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

#: Paragraphs for the decoder's RAG-shaped calibration prompts (written for this set, not taken from a benchmark).
PASSAGES = [
    ("Sourdough", "Sourdough bread is leavened by a culture of wild yeasts and lactic acid bacteria rather than by "
     "baker's yeast. The bakers keep a starter of flour and water, feeding it every day or two; the bacteria make "
     "lactic and acetic acids, which give the bread its sour taste and help it keep for several days. A loaf "
     "usually rises for eight to twelve hours, far longer than one made with commercial yeast."),
    ("Lighthouses", "The first lighthouses burned wood or coal in open fires on towers. Oil lamps with polished "
     "reflectors replaced them in the eighteenth century, and in 1822 Augustin Fresnel designed a lens of concentric "
     "glass rings that could throw a beam more than twenty miles. Most lights were automated in the late twentieth "
     "century, and the last keepers left the towers of several countries in the 1990s."),
    ("Honeybees", "A honeybee colony has one queen, a few hundred drones and tens of thousands of workers. Workers "
     "that find food tell the others where it is with a waggle dance: the angle of the run gives the direction "
     "relative to the sun and its length the distance. In winter the bees cluster around the queen and shiver "
     "their flight muscles to keep the centre of the cluster near 35 degrees Celsius."),
    ("The Hanseatic League", "The Hanseatic League was an alliance of merchant guilds and market towns that "
     "dominated trade in the Baltic and North Seas from the thirteenth to the fifteenth century. Lübeck was its "
     "chief city. Its members shipped timber, furs, grain and salted herring, and kept trading posts, called "
     "kontors, in London, Bruges, Bergen and Novgorod. The league declined as territorial states grew stronger."),
    ("Glaciers", "A glacier forms where more snow falls in winter than melts in summer, so that the snow packs "
     "into firn and then into dense ice. Under its own weight the ice flows slowly downhill, from a few centimetres "
     "to several metres a day. Moving glaciers carve U-shaped valleys and leave ridges of rock debris, called "
     "moraines, at their sides and at the point where they stop."),
    ("Penicillin", "Alexander Fleming noticed in 1928 that a mould, Penicillium notatum, had killed the bacteria "
     "around it on a culture plate he had left out during a holiday. Purifying the active substance proved hard, "
     "and it was only in 1940 that Howard Florey and Ernst Chain showed that penicillin cured infections in mice. "
     "Mass production in deep fermentation tanks began in the United States during the Second World War."),
]
#: Questions over those paragraphs (some answered by none of the passages a prompt gets).
QUESTIONS = [
    "How long does a sourdough loaf usually rise?",
    "Who designed the lens of concentric glass rings?",
    "How do worker bees tell others where food is?",
    "Which city was the chief city of the Hanseatic League?",
    "What are the ridges of debris left by glaciers called?",
    "In what year did Fleming notice the mould?",
    "What temperature do bees keep the centre of the winter cluster at?",
    "When did the last lighthouse keepers leave?",
    "What did Hanseatic merchants ship?",
    "What gives sourdough its sour taste?",
    "How fast does glacier ice flow?",
    "Who showed that penicillin cured infections in mice?",
]


def rag_prompts() -> list[list[dict[str, str]]]:
    """Chat messages shaped like ``ask``'s: the RAG instruction, three numbered passages, a question."""
    from latentstack.rag.prompt import Passage, build_messages

    prompts = []
    for i, question in enumerate(QUESTIONS):
        chosen = [PASSAGES[(i + k) % len(PASSAGES)] for k in (0, 2, 3)]
        passages = [Passage(n + 1, text, title=title) for n, (title, text) in enumerate(chosen)]
        prompts.append(build_messages(question, passages))
    return prompts


def decoder_calibration() -> list[str | list[dict[str, str]]]:
    """The int4 decoder export's default calibration prompts: the texts above as chat prompts, and RAG prompts."""
    return [*CALIBRATION, *rag_prompts()]
