"""A stop (Ctrl-C, SIGTERM) during training lands between optimiser steps, never inside one."""

from __future__ import annotations

import os
import signal

import pytest

from latentstack.training import stop_on_sigterm, whole_step

SIGNALS = [signal.SIGINT, signal.SIGTERM]


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_stop_inside_a_step_waits_for_the_step_to_end(signum: int) -> None:
    done = []
    with stop_on_sigterm(), pytest.raises(KeyboardInterrupt):
        with whole_step():
            os.kill(os.getpid(), signum)
            done.append("weights")
            done.append("position")
        done.append("next step")
    assert done == ["weights", "position"]


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_stop_between_steps_and_a_second_stop_inside_one_are_at_once(signum: int) -> None:
    done = []
    with stop_on_sigterm(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
        done.append("between")
    with stop_on_sigterm(), pytest.raises(KeyboardInterrupt), whole_step():
        os.kill(os.getpid(), signum)
        done.append("first held")
        os.kill(os.getpid(), signum)  # asked twice: the user means now
        done.append("second held")
    assert done == ["first held"]


def test_the_handlers_before_training_come_back_and_no_stop_is_left_over() -> None:
    before = {sig: signal.getsignal(sig) for sig in SIGNALS}
    with pytest.raises(ZeroDivisionError), stop_on_sigterm(), whole_step():
        os.kill(os.getpid(), signal.SIGTERM)
        _ = 1 / 0  # the step failed: its error, not the stop, is what the caller sees
    assert {sig: signal.getsignal(sig) for sig in SIGNALS} == before
    with stop_on_sigterm(), whole_step():
        pass  # nothing held over from the failed step
