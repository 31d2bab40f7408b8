"""StopTrimmer: stop strings end the stream and are never shown, even split across pieces."""

from latentstack.stops import StopTrimmer


def run(pieces, stops):
    t = StopTrimmer(stops)
    shown = [t.feed(p) for p in pieces]
    return "".join(shown) + t.flush(), t.stopped, shown


def test_no_stops_passes_everything_through():
    assert run(["a", "b", "c"], [])[0] == "abc"


def test_stop_split_across_pieces_is_cut_and_never_shown():
    text, stopped, shown = run(["Hello ", "wor", "ld\n", "\nQuestion: more"], ["\n\n"])
    assert text == "Hello world"
    assert stopped
    assert all("\n\n" not in s for s in shown)


def test_partial_stop_that_does_not_complete_is_released():
    text, stopped, _ = run(["1. one\n", "2. two"], ["\n\n"])
    assert text == "1. one\n2. two"
    assert not stopped


def test_earliest_of_several_stops_wins():
    text, _, _ = run(["alpha END beta STOP"], ["STOP", "END"])
    assert text == "alpha "


def test_held_back_text_waits_until_it_cannot_be_a_stop():
    t = StopTrimmer(["</s>"])
    assert t.feed("answer </") == "answer "
    assert t.feed("b>") == "</b>"
